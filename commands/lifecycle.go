package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/machine"
)

func downCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "down",
		Aliases:   []string{"stop", "halt"},
		Usage:     "shut the machine down cleanly (ACPI power button, up to 30 s)",
		ArgsUsage: "[NAME]",
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				return st.Down(c.Context, name)
			})
		},
	}
}

func poweroffCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "poweroff",
		Usage:     "stop the machine at once, like pulling the plug (unsynced data may be lost)",
		ArgsUsage: "[NAME]",
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				return st.Poweroff(c.Context, name)
			})
		},
	}
}

func resetCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "reset",
		Usage:     "hard-reboot the machine",
		ArgsUsage: "[NAME]",
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				return st.Reset(c.Context, name)
			})
		},
	}
}

func restartCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "restart",
		Usage:     "down, then up",
		ArgsUsage: "[NAME]",
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				if err := st.Down(c.Context, name); err != nil {
					return err
				}
				res, err := st.Up(c.Context, name, emptyLayer())
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stderr, "machine %q is running; Docker answered after %.1fs\n", name, res.Took.Seconds())
				env.updateDockerContext(res.Machine, false)
				return nil
			})
		},
	}
}

func saveCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "save",
		Aliases:   []string{"suspend"},
		Usage:     "suspend the machine to disk, where the driver supports it",
		ArgsUsage: "[NAME]",
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				return st.Save(c.Context, name)
			})
		},
	}
}

// withMachine runs f with the store and the machine name the command line
// gives.
func withMachine(env *Env, c *cli.Context, f func(st *machine.Store, name string) error) error {
	name, err := machineName(c)
	if err != nil {
		return err
	}
	st, err := env.store(c)
	if err != nil {
		return err
	}
	return f(st, name)
}
