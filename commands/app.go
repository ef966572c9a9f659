// Package commands turns command lines into calls of tender's use cases
// (package machine) and prints their results. One file per command; nothing
// here talks to a hypervisor or the guest directly.
package commands

import (
	"context"
	"fmt"
	"golang.org/x/term"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/xrash/smetrics"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/doctor"
	"github.com/tenderdev/tender/machine"
)

// Env is what the commands need from the outside world; tests give buffers.
type Env struct {
	Stdin     *os.File
	Stdout    io.Writer
	Stderr    io.Writer
	Getenv    func(string) string
	LookupEnv func(string) (string, bool)
	Version   string
	Commit    string
	Date      string
	// NewStore builds the machine store once global flags are parsed.
	NewStore func(home string, verbose bool, stderr io.Writer) *machine.Store
	// Args is the raw command line, for `ssh NAME -- CMD` where the
	// separator matters.
	Args []string
	// Download fetches an image into the cache; nil is iso.Download with
	// progress on Stderr. Tests give a fake to stay offline.
	Download func(ctx context.Context, url, cacheDir string) (string, error)
	// DoctorHost is the host `tender doctor` checks; nil is this one. Tests
	// give another.
	DoctorHost func(home string) doctor.Host
}

// Run runs the command line env.Args, with flags accepted after a
// command's arguments (Intersperse). The plain shellinit and status lines
// that shell profiles run take the instant path (instantLine), which does
// not build the app.
func Run(ctx context.Context, env *Env) error {
	if l, ok := parseInstantLine(env.Args); ok && env.LookupEnv != nil {
		return l.run(ctx, env)
	}
	return runApp(ctx, env)
}

// runApp runs env.Args through the urfave/cli app.
func runApp(ctx context.Context, env *Env) error {
	app := New(env)
	args := Intersperse(app, env.Args)
	// urfave's `help nosuch` is "No help topic for 'nosuch'", exit 3.
	if len(args) == 3 && (args[1] == "help" || args[1] == "h") && !isFlag(args[2]) && app.Command(args[2]) == nil {
		return fmt.Errorf("no command %q (run `tender help` to list the commands)", args[2])
	}
	if vm, ok := vmFlag(app, args); ok {
		app.Metadata = map[string]any{vmFlagKey: vm}
	}
	return app.RunContext(ctx, args)
}

// vmFlagKey is where Run keeps a --vm given on the command line (not from
// TENDER_VM), so that machineName can refuse a NAME that says otherwise.
const vmFlagKey = "vm-flag"

// vmFlag finds --vm among the app's flags, which Intersperse put first.
func vmFlag(app *cli.App, args []string) (string, bool) {
	for i := 1; i < len(args) && isFlag(args[i]); i++ {
		name, value, hasValue := flagName(args[i])
		if name == "vm" {
			if hasValue {
				return value, true
			}
			if i+1 < len(args) {
				return args[i+1], true
			}
		}
		if flagTakesValue(app.Flags, args[i]) {
			i++
		}
	}
	return "", false
}

// New builds the tender application.
func New(env *Env) *cli.App {
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	app := &cli.App{
		Name:                 "tender",
		Usage:                "a Docker engine in a lightweight Linux VM",
		Version:              env.Version,
		Writer:               env.Stdout,
		ErrWriter:            env.Stderr,
		Reader:               env.Stdin,
		EnableBashCompletion: true,
		HideHelpCommand:      false,
		Description: `tender boots a small Linux VM that runs Docker, and points your docker CLI at it.

   tender init                 # create the VM and its data disk
   tender up                   # boot it and wait for Docker
   eval "$(tender shellinit)"  # point the docker CLI at it
   docker run busybox echo hello world

Machines live in $TENDER_HOME (default ~/.tender). The machine is "default"
unless --vm NAME or a NAME argument is given.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "vm", Usage: "the machine to act on", Value: machine.DefaultName, EnvVars: []string{"TENDER_VM"}},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "echo every external command to stderr, and print boot phase timings"},
		},
		Commands: []*cli.Command{
			initCommand(env),
			upCommand(env),
			setCommand(env),
			downCommand(env),
			poweroffCommand(env),
			resetCommand(env),
			restartCommand(env),
			saveCommand(env),
			deleteCommand(env),
			sshCommand(env),
			cpCommand(env),
			ipCommand(env),
			portsCommand(env),
			hostAgentCommand(env),
			qemuStateCommand(),
			shellinitCommand(env),
			statusCommand(env),
			lsCommand(env),
			networkCommand(env),
			swarmCommand(env),
			infoCommand(env),
			configCommand(env),
			logsCommand(env),
			regenerateCertsCommand(env),
			downloadCommand(env),
			upgradeCommand(env),
			doctorCommand(env),
			completionCommand(env),
			versionCommand(env),
		},
	}
	setCompletion(app, env)
	// Bad usage is one line naming the problem and where the flags are
	// listed, not a page of help; and urfave never exits the process itself
	// (main maps errors to exit codes after the deferred calls ran).
	app.OnUsageError = usageError
	for _, cmd := range app.Commands {
		if cmd.OnUsageError == nil {
			cmd.OnUsageError = usageError
		}
	}
	app.ExitErrHandler = func(*cli.Context, error) {}
	app.Action = func(c *cli.Context) error {
		if c.Args().Present() {
			return fmt.Errorf("no command %q (run `tender help` to list the commands)", c.Args().First())
		}
		return cli.ShowAppHelp(c)
	}
	return app
}

// usageError turns a flag parsing error into one line that says where the
// flags are listed.
func usageError(c *cli.Context, err error, isSubcommand bool) error {
	help := "tender --help"
	if c.Command != nil && c.Command.Name != "" && isSubcommand {
		help = "tender " + c.Command.Name + " --help"
	}
	flags := c.App.Flags
	if c.Command != nil && isSubcommand {
		flags = c.Command.Flags
	}
	if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
		if near := nearestFlag(strings.TrimPrefix(name, "-"), flags); near != "" {
			return fmt.Errorf("%w; did you mean --%s? (run `%s` for the flags)", err, near, help)
		}
	}
	return fmt.Errorf("%w (run `%s` for the flags)", err, help)
}

// nearestFlag is the flag of flags that name most likely meant: the same
// but for dashes, underscores and case (--disk-size for --disksize, as
// Podman spells it), or one close by the Jaro-Winkler similarity urfave's
// own suggestions use; "" when none is close.
func nearestFlag(name string, flags []cli.Flag) string {
	squash := func(s string) string {
		return strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(s))
	}
	best, bestScore := "", 0.9 // below this, a guess is more noise than help
	for _, f := range flags {
		for _, n := range f.Names() {
			if len(n) < 2 {
				continue
			}
			if squash(n) == squash(name) {
				return n
			}
			if score := smetrics.JaroWinkler(squash(n), squash(name), 0.7, 4); score > bestScore {
				best, bestScore = n, score
			}
		}
	}
	return best
}

// Home is TENDER_HOME, default ~/.tender.
// A TENDER_HOME that is there but is not a directory is refused in one
// line naming it (else every command met it as a different OS error, and
// status said not-created).
func Home(getenv func(string) string) (string, error) {
	if h := getenv("TENDER_HOME"); h != "" {
		abs, err := filepath.Abs(h)
		if err != nil {
			return "", fmt.Errorf("TENDER_HOME %s: %w", h, err)
		}
		if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
			return "", fmt.Errorf("TENDER_HOME %s is a file, not a directory: point TENDER_HOME at a directory (tender makes it when missing)", abs)
		}
		return abs, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the home directory (set TENDER_HOME): %w", err)
	}
	dir := filepath.Join(home, ".tender")
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return "", fmt.Errorf("%s is a file, not a directory: move it away, or set TENDER_HOME to a directory", dir)
	}
	return dir, nil
}

// verbose reports whether --verbose was given, before the command (global)
// or after it (commands such as up that take it too). c.Bool alone would
// read only the command's own, unset flag.
func verbose(c *cli.Context) bool {
	for _, x := range c.Lineage() {
		if x.Bool("verbose") {
			return true
		}
	}
	return false
}

// store builds the machine store for this invocation.
func (env *Env) store(c *cli.Context) (*machine.Store, error) {
	return env.storeFor(verbose(c))
}

// storeFor builds the machine store, echoing external commands when
// verbose.
func (env *Env) storeFor(verbose bool) (*machine.Store, error) {
	home, err := Home(env.Getenv)
	if err != nil {
		return nil, err
	}
	st := env.NewStore(home, verbose, env.Stderr)
	if st.Download == nil {
		st.Download = env.downloader()
	}
	if st.Confirm == nil && env.Stdin != nil && term.IsTerminal(int(env.Stdin.Fd())) {
		st.Confirm = func(question string) (bool, error) { return ask(env, question), nil }
	}
	return st, nil
}

// machineName is the positional NAME if given, else --vm, else "default".
func machineName(c *cli.Context) (string, error) {
	name := c.String("vm")
	if c.Args().Len() > 0 {
		name = c.Args().First()
		if vm, ok := c.App.Metadata[vmFlagKey].(string); ok && vm != name {
			return "", fmt.Errorf("--vm %s and the NAME argument %s name different machines: give one of them", vm, name)
		}
	}
	if c.Args().Len() > 1 {
		return "", fmt.Errorf("too many arguments: %q (`tender %s` takes at most a machine NAME)", c.Args().Slice(), c.Command.Name)
	}
	if err := config.ValidateName(name); err != nil {
		return "", err
	}
	return name, nil
}
