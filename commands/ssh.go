package commands

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/machine"
	"github.com/tenderdev/tender/shellquote"
)

func sshCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "ssh",
		Usage:     "log in to the machine, or run a command in it",
		ArgsUsage: "[NAME] [-- COMMAND [ARGS...]]",
		Description: `With no command, opens an interactive shell as user docker. With a command
after --, runs it; stdin is passed through and tender exits with its status.
Also writes ssh_config, so plain OpenSSH works too:
   ssh -F ~/.tender/machines/default/ssh_config tender-default

   tender ssh
   tender ssh -- docker ps
   tender ssh dev -- uname -a`,
		SkipFlagParsing: false,
		Action: func(c *cli.Context) error {
			name, cmd, err := sshArgs(c, env)
			if err != nil {
				return err
			}
			st, err := env.store(c)
			if err != nil {
				return err
			}
			m, err := st.Running(c.Context, name)
			if err != nil {
				return err
			}
			if err := machine.WriteSSHConfig(m); err != nil {
				fmt.Fprintf(env.Stderr, "warning: %v\n", err)
			}
			client, err := m.Dial(c.Context)
			if err != nil {
				return err
			}
			defer client.Close()
			var code int
			if len(cmd) == 0 {
				code, err = client.Shell(c.Context, env.Stdin, env.Stdout, env.Stderr)
			} else {
				code, err = client.Run(c.Context, shellJoin(cmd), env.Stdin, env.Stdout, env.Stderr)
			}
			if err != nil {
				return err
			}
			if code != 0 {
				return cli.Exit("", code)
			}
			return nil
		},
	}
}

// sshArgs splits `ssh [NAME] [-- CMD...]`. Without "--", a first argument
// that names a machine is the name and the rest is the command.
func sshArgs(c *cli.Context, env *Env) (name string, cmd []string, err error) {
	name = c.String("vm")
	raw := env.Args
	args := c.Args().Slice()
	sep := slices.Index(raw, "--")
	if sep >= 0 {
		after := raw[sep+1:]
		before := args[:max(0, len(args)-len(after))]
		// urfave keeps the "--" when a NAME comes before it: `ssh dev -- CMD`.
		if len(before) > 0 && before[len(before)-1] == "--" {
			before = before[:len(before)-1]
		}
		if len(before) > 1 {
			return "", nil, fmt.Errorf("too many arguments before --: %q", before)
		}
		if len(before) == 1 {
			name = before[0]
		}
		return name, after, config.ValidateName(name)
	}
	if len(args) > 0 && config.ValidateName(args[0]) == nil {
		home, herr := Home(env.Getenv)
		if herr == nil {
			if _, err := os.Stat(filepath.Join(home, machine.MachinesDir, args[0], machine.MachineFile)); err == nil {
				return args[0], args[1:], nil
			}
		}
	}
	return name, args, config.ValidateName(name)
}

// shellJoin quotes argv for the guest's POSIX shell, every word, so that none
// is read as an assignment or a reserved word (`tender ssh -- time ls` runs
// the time program).
func shellJoin(argv []string) string {
	if len(argv) == 1 {
		return argv[0] // one argument is a command line already: `tender ssh -- 'ls | wc -l'`
	}
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellquote.Quote(a)
	}
	return strings.Join(q, " ")
}
