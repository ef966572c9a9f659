package commands

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/machine"
)

func logsCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print the machine's serial console (kernel and agent messages)",
		ArgsUsage: "[NAME]",
		Description: `Prints serial.log, where the kernel and tender-agent write. With --agent, prints
the agent's own log from the running guest (/var/lib/tender/log/agent.log).
For a server (driver ssh), prints the host agent's log: its connection to the
server and the ports it forwards.

   tender logs dev
   tender logs -f
   tender logs --agent dev`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new lines"},
			&cli.BoolFlag{Name: "agent", Usage: "print the guest agent's log over SSH"},
		},
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				m, err := st.Load(name, emptyLayer())
				if err != nil {
					return err
				}
				if c.Bool("agent") {
					m, err := st.Running(c.Context, name)
					if err != nil {
						return err
					}
					code, err := m.AgentLog(c.Context, c.Bool("follow"), env.Stdout, env.Stderr)
					if err == nil && code != 0 {
						return cli.Exit("", code)
					}
					return err
				}
				log := machine.SerialLog
				if m.IsServer() {
					log = machine.HostAgentLog // a server has no console of tender's
				}
				return copyLog(c, filepath.Join(m.Dir, log), env.Stdout, c.Bool("follow"))
			})
		},
	}
}

// copyLog prints a file, and with follow keeps printing what is appended.
func copyLog(c *cli.Context, path string, w io.Writer, follow bool) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && !follow {
		return nil // never booted: nothing logged yet
	}
	for errors.Is(err, os.ErrNotExist) {
		select {
		case <-c.Context.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
		f, err = os.Open(path)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		if _, err := io.Copy(w, f); err != nil {
			return err
		}
		if !follow {
			return nil
		}
		select {
		case <-c.Context.Done():
			return nil
		case <-time.After(300 * time.Millisecond):
		}
	}
}
