package commands

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/machine"
	"github.com/tenderdev/tender/shellinit"
)

func shellinitCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "shellinit",
		Aliases:   []string{"env", "socket"},
		Usage:     "print the commands that point the docker CLI at the machine",
		ArgsUsage: "[NAME]",
		Description: `Prints DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY and TENDER_MACHINE_NAME
for your shell, to be evaluated:

   eval "$(tender shellinit)"                      # bash, zsh, sh
   eval (tender shellinit)                         # fish
   & tender shellinit | Invoke-Expression          # PowerShell

The shell is detected from $SHELL (on Windows it defaults to PowerShell);
--shell chooses it: ` + shellNames() + `.
It reads local state only and starts no program, so it is instant in a shell
profile. If the machine is not running it prints nothing and fails.

--unix points DOCKER_HOST at the machine's unix socket instead
(~/.tender/machines/NAME/docker.sock, served by the host agent over TLS with the
machine's client certificate), for tools that speak only to a socket
(Testcontainers, SDKs); DOCKER_CERT_PATH and DOCKER_TLS_VERIFY are unset. Not on
Windows.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "shell", Usage: "the shell to print for"},
			&cli.BoolFlag{Name: "unset", Aliases: []string{"u"}, Usage: "print commands that unset the variables"},
			&cli.BoolFlag{Name: "no-proxy", Usage: "add 127.0.0.1 to NO_PROXY (once)"},
			&cli.BoolFlag{Name: "unix", Usage: "DOCKER_HOST=unix://…/docker.sock, the host agent's socket, instead of TCP with TLS"},
		},
		Action: func(c *cli.Context) error {
			name, err := machineName(c)
			if err != nil {
				return err
			}
			return runShellinit(c.Context, env, shellinitOptions{
				Name: name, Shell: c.String("shell"), ShellSet: c.IsSet("shell"),
				Unset: c.Bool("unset"), NoProxy: c.Bool("no-proxy"), Unix: c.Bool("unix"),
				Verbose: verbose(c),
			})
		},
	}
}

// shellinitOptions are shellinit's machine and flags, from the app's
// command line or from the instant path's (instantLine).
type shellinitOptions struct {
	Name     string
	Shell    string // --shell, when ShellSet
	ShellSet bool
	Unset    bool
	NoProxy  bool
	Unix     bool
	Verbose  bool
}

func runShellinit(ctx context.Context, env *Env, o shellinitOptions) error {
	name := o.Name
	var sh shellinit.Shell
	var err error
	if o.ShellSet {
		if sh, err = shellinit.ParseShell(o.Shell); err != nil {
			return err
		}
	} else {
		// On Windows, the shell that started tender: PowerShell,
		// cmd or Git Bash (the parent process's name).
		sh = shellinit.Detect(env.Getenv, runtime.GOOS, parentProcessName())
	}
	opts := shellinit.Options{Unset: o.Unset, Getenv: env.Getenv, Machine: name, ShellFlag: o.ShellSet}
	if o.NoProxy {
		opts.NoProxy = "127.0.0.1"
		if _, changed := shellinit.AddNoProxy(env.Getenv("NO_PROXY")+env.Getenv("no_proxy"), opts.NoProxy); !changed && !opts.Unset {
			fmt.Fprintln(env.Stderr, "tender: 127.0.0.1 is already in NO_PROXY")
		}
	}
	if opts.Unset {
		return shellinit.Render(env.Stdout, shellinit.DockerVars(0, "", ""), sh, opts)
	}
	st, err := env.storeFor(o.Verbose)
	if err != nil {
		return err
	}
	m, err := st.Running(ctx, name)
	if err != nil {
		return err
	}
	vars := shellinit.DockerVars(m.Runtime.DockerPort, m.CertPath(), name)
	host, certs := m.DockerHost(), m.CertPath()
	if o.Unix {
		if runtime.GOOS == "windows" {
			return fmt.Errorf("--unix: the docker.sock forward is not available on Windows; use the TCP address (tender shellinit)")
		}
		vars = shellinit.SocketVars(m.SocketPath(), name)
		host, certs = "unix://"+m.SocketPath(), ""
		if _, err := os.Stat(m.SocketPath()); err != nil {
			fmt.Fprintf(env.Stderr, "tender: %s is not there: the host agent serves it (`tender up%s` restarts a host agent that died; see hostagent.log)\n", m.SocketPath(), machine.NameArg(name))
		}
	}
	if env.Getenv("DOCKER_HOST") == host && env.Getenv("DOCKER_CERT_PATH") == certs {
		fmt.Fprintf(env.Stderr, "tender: your shell is already set for machine %q\n", name)
	}
	// Render to a buffer so a failure prints nothing half-done.
	var out bytes.Buffer
	if err := shellinit.Render(&out, vars, sh, opts); err != nil {
		return err
	}
	_, err = env.Stdout.Write(out.Bytes())
	return err
}

func shellNames() string {
	var b bytes.Buffer
	for i, s := range shellinit.Shells() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(s))
	}
	return b.String()
}
