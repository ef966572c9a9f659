package commands

import (
	"context"
	"slices"
	"strings"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/machine"
)

// instantCommands only read local files and print; shellinit runs in every
// new shell. A test checks that each is a command or alias of the app.
var instantCommands = []string{"status", "shellinit", "env", "socket", "ip", "version"}

// Instant reports whether the command line args (os.Args) runs one of the
// commands that only read local files and print (status, shellinit, ip,
// version). main runs those without turning Ctrl-C into a cancelled
// context: they finish in milliseconds, so the default, ending the process,
// cannot leave anything half-done, and os/signal's setup (two goroutines and
// a thread) is a good part of such a run. A command line it cannot read for
// certain (a flag it does not know, no command) is not instant, which only
// costs that setup.
func Instant(args []string) bool {
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--vm" || a == "-vm":
			i++ // the flag's value
		case strings.HasPrefix(a, "--vm=") || strings.HasPrefix(a, "-vm="),
			a == "--verbose" || a == "-verbose" || a == "-v" || a == "--v":
		case strings.HasPrefix(a, "-"):
			return false
		default:
			return slices.Contains(instantCommands, a)
		}
	}
	return false
}

// instantLine is a command line that Run runs without building the
// urfave/cli app, whose construction and flag parsing were a third of a
// shellinit's instructions: the plain lines a shell profile or prompt runs,
//
//	tender [--vm NAME] shellinit|env|socket [NAME] [--shell SHELL]
//	tender [--vm NAME] status [NAME]
//
// Every other line (any other flag, a second argument, --vm and a NAME that
// disagree, help, completion) goes through the app, which gives its
// errors; for the lines it takes, the instant path does what the app does
// (TestInstantLineSameAsApp).
type instantLine struct {
	command  string // "shellinit" (or an alias) or "status"
	vm       string // --vm's value, when vmSet
	vmSet    bool
	name     string // the NAME argument, when nameSet
	nameSet  bool
	shell    string // --shell's value, when shellSet
	shellSet bool
}

// parseInstantLine reads args (os.Args) as an instantLine; false when it
// is not one.
func parseInstantLine(args []string) (instantLine, bool) {
	var l instantLine
	if slices.Contains(args, "--generate-bash-completion") {
		return l, false // completion reads the words as typed, even a flag's value
	}
	i := 1
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		v, ok := flagValue(args, &i, "vm")
		if !ok {
			return l, false
		}
		l.vm, l.vmSet = v, true
	}
	if i >= len(args) {
		return l, false
	}
	switch l.command = args[i]; l.command {
	case "shellinit", "env", "socket", "status":
	default:
		return l, false
	}
	for i++; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			if l.nameSet || a == "help" || a == "h" {
				return l, false
			}
			l.name, l.nameSet = a, true
			continue
		}
		if l.command == "status" || l.shellSet {
			return l, false
		}
		v, ok := flagValue(args, &i, "shell")
		if !ok {
			return l, false
		}
		l.shell, l.shellSet = v, true
	}
	if l.vmSet && l.nameSet && l.vm != l.name {
		return l, false // the app says they disagree
	}
	return l, true
}

// flagValue reads the flag called name at args[*i], as urfave/cli takes it
// (-name or --name, then =VALUE or the next word), moving *i past its value;
// false for another flag or one without a value.
func flagValue(args []string, i *int, name string) (string, bool) {
	a := strings.TrimPrefix(strings.TrimPrefix(args[*i], "-"), "-")
	if v, ok := strings.CutPrefix(a, name+"="); ok {
		return v, true
	}
	if a != name || *i+1 >= len(args) {
		return "", false
	}
	*i++
	return args[*i], true
}

// run does what the app's shellinit or status action does for the line.
func (l instantLine) run(ctx context.Context, env *Env) error {
	name := machine.DefaultName
	if v, ok := env.LookupEnv("TENDER_VM"); ok {
		name = v // the app's --vm takes TENDER_VM too
	}
	if l.vmSet {
		name = l.vm
	}
	if l.nameSet {
		name = l.name
	}
	if err := config.ValidateName(name); err != nil {
		return err
	}
	if l.command == "status" {
		st, err := env.storeFor(false)
		if err != nil {
			return err
		}
		return printStatus(ctx, env, st, name, "", nil)
	}
	return runShellinit(ctx, env, shellinitOptions{Name: name, Shell: l.shell, ShellSet: l.shellSet})
}
