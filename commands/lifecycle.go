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
		Description: `The guest stops its containers, syncs and unmounts the data disk, and powers
off; the host agent and forwards go with it. With down_action: save in the
settings, down saves the machine instead (see tender save).

   tender down
   tender down dev`,
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
		Description: `For a guest that does not answer the power button (tender down gave up after
30 s). Data the guest has not synced may be lost; the disk's filesystem is
checked at the next boot.

   tender poweroff dev`,
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
		Description: `Like the reset button: the guest reboots at once, without a shutdown. The
host agent reconnects when it is back.

   tender reset dev`,
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
		Description: `A clean shutdown, then a boot, waiting until Docker answers.

   tender restart
   tender restart dev`,
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
		Usage:     "suspend the machine to a file; `tender up` resumes it with every container as it was",
		ArgsUsage: "[NAME]",
		Description: `The machine's memory goes to a file in its directory and its hypervisor
exits; status says saved. The shared folders are unmounted in the guest for the save and
mounted again at the resume; a running container that bind-mounts one makes the save
refuse, naming it (--force stops it first). Set down_action: save to make
` + "`tender down`" + ` save too.

Examples:
   tender save
   tender save dev --force`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "stop the containers that bind-mount a shared folder, then save"}},
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				return st.Save(c.Context, name, c.Bool("force"))
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
