// Command tender gives you a Docker engine in a lightweight Linux VM.
// See README.md, or run `tender help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/commands"
	"github.com/tenderdev/tender/drivers"
	"github.com/tenderdev/tender/machine"
)

// Stamped at build time with -ldflags "-X main.version=…".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	// os.Exit skips deferred calls, so all the work happens in run.
	os.Exit(run(os.Args))
}

func run(args []string) int {
	// Ctrl-C and SIGTERM cancel the context, so that a command stops
	// cleanly; the instant ones (shellinit, status…) go without (see
	// commands.Instant).
	ctx := context.Background()
	if !commands.Instant(args) {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	env := &commands.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv: os.Getenv, LookupEnv: os.LookupEnv,
		Version: version, Commit: commit, Date: date,
		Args: args,
		NewStore: func(home string, verbose bool, stderr io.Writer) *machine.Store {
			st := &machine.Store{Home: home, Progress: stderr, Drivers: drivers.Factory(verbose, stderr), ExplainDriver: drivers.Reason, LookupEnv: os.LookupEnv}
			if exe, err := os.Executable(); err == nil {
				st.HostAgent = []string{exe} // `up` starts `tender hostagent NAME`
			}
			return st
		},
	}
	err := commands.Run(ctx, env)
	if err == nil {
		return 0
	}
	// Only tender's own cli.Exit errors carry an exit code to pass on; a
	// wrapped *exec.ExitError also looks like an ExitCoder but must be
	// printed whole.
	var exit cli.ExitCoder
	var program *exec.ExitError
	if errors.As(err, &exit) && !errors.As(err, &program) {
		if msg := exit.Error(); msg != "" {
			fmt.Fprintf(os.Stderr, "tender: %s\n", msg)
		}
		return exit.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "tender: %v\n", err)
	if ctx.Err() != nil {
		return 130
	}
	return 1
}
