package commands

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// urfave/cli reads a command's flags only before its first argument, so
// `tender delete dev -f` was "too many arguments". People coming from the
// docker, podman, limactl and colima CLIs (all cobra) put flags after the
// NAME. Intersperse rewrites the command line so that urfave sees what they
// meant: the command's flags first, then its arguments; the app's own flags
// (--vm, --verbose) given after the command go before it. "--" still ends
// the flags, and everything after the first argument of a command that
// runs a command line (`ssh NAME CMD -x`) is left as it is.

// Intersperse returns args (os.Args) with the flags after a command's
// arguments moved before them. A command line it cannot read (an unknown
// command) is returned as it is, for urfave to report.
func Intersperse(app *cli.App, args []string) []string {
	if len(args) < 2 || args[len(args)-1] == "--generate-bash-completion" {
		return args // completion reads the words as typed
	}
	out := []string{args[0]}
	i := 1
	for ; i < len(args) && isFlag(args[i]); i++ { // the app's flags
		out = append(out, args[i])
		if flagTakesValue(app.Flags, args[i]) && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	if i >= len(args) {
		return args
	}
	cmd := app.Command(args[i])
	if cmd == nil {
		return args
	}
	path := []string{args[i]}
	i++
	for len(cmd.Subcommands) > 0 && i < len(args) {
		sub := cmd.Command(args[i])
		if sub == nil {
			break
		}
		cmd = sub
		path = append(path, args[i])
		i++
	}
	var appFlags, flags, positional, rest []string
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" || (len(positional) > 0 && runsCommandLine(cmd)) {
			rest = args[i:]
			break
		}
		if !isFlag(a) {
			positional = append(positional, a)
			continue
		}
		to := &flags
		known := cmd.Flags
		if lookupFlag(cmd.Flags, a) == nil && lookupFlag(app.Flags, a) != nil {
			to, known = &appFlags, app.Flags
		}
		*to = append(*to, a)
		if flagTakesValue(known, a) && i+1 < len(args) {
			i++
			*to = append(*to, args[i])
		}
	}
	out = append(out, appFlags...)
	out = append(out, path...)
	out = append(out, flags...)
	out = append(out, positional...)
	return append(out, rest...)
}

// runsCommandLine: ssh NAME CMD... passes CMD's flags on.
func runsCommandLine(cmd *cli.Command) bool { return cmd.Name == "ssh" }

func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' }

// flagName is the name in -x, --name or --name=value, and the value after
// "=" when there is one; "" for "--".
func flagName(a string) (name, value string, hasValue bool) {
	return strings.Cut(strings.TrimLeft(a, "-"), "=")
}

func lookupFlag(flags []cli.Flag, a string) cli.Flag {
	name, _, _ := flagName(a)
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// flagTakesValue reports whether a (without "=value") is a flag of flags
// that reads the next argument as its value.
func flagTakesValue(flags []cli.Flag, a string) bool {
	if _, _, hasValue := flagName(a); hasValue {
		return false
	}
	f, ok := lookupFlag(flags, a).(cli.DocGenerationFlag)
	return ok && f.TakesValue()
}
