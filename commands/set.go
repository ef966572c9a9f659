package commands

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/machine"
)

func setCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "set",
		Usage:     "change a machine's CPUs, memory or disk size for good",
		ArgsUsage: "[NAME]",
		Description: `Writes the new values into the machine's machine.yaml, as podman machine set
and limactl edit do. CPUs and memory apply at the next boot (a running machine
says so). A larger disk size grows the data disk at the next boot, and its
filesystem with it, with nothing lost; a smaller one is refused, as is a disk
change while the machine is saved. tender up --cpus/--memory/--disksize does
the same.

   tender set --cpus 4 --memory 8GiB
   tender set --disksize 60GiB dev
   tender restart dev                 # to apply them to a running machine now`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cpus", Aliases: []string{"c"}, Usage: "number of virtual CPUs"},
			&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Usage: "guest memory: MiB (2048) or a size (2GiB)"},
			&cli.StringFlag{Name: "disksize", Aliases: []string{"s", "disk-size"}, Usage: "data disk size, larger than now: MiB or a size (60GiB)"},
		},
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				flags, err := flagLayer(c)
				if err != nil {
					return err
				}
				if flags.Only(machine.SetKeys...).Empty() {
					return errors.New("nothing to set: give --cpus, --memory or --disksize")
				}
				res, err := st.Set(c.Context, name, flags)
				if err != nil {
					return err
				}
				reportSet(env, name, res)
				return nil
			})
		},
	}
}

// reportSet says what set changed and when it applies.
func reportSet(env *Env, name string, res *machine.SetResult) {
	if len(res.Changed) == 0 {
		fmt.Fprintf(env.Stderr, "machine %q already has these settings\n", name)
		return
	}
	for _, ch := range res.Changed {
		fmt.Fprintf(env.Stderr, "machine %q: %s\n", name, ch)
	}
	if res.NextBoot {
		fmt.Fprintf(env.Stderr, "machine %q runs: this applies at its next boot (tender restart%s)\n", name, machine.NameArg(name))
	}
}

// splitSizing splits up's flags into the ones that last, as tender set's
// (machine.SetKeys), and the rest, which last one boot.
func splitSizing(flags config.Layer) (sizing, rest config.Layer) {
	return flags.Only(machine.SetKeys...), flags.Without(machine.SetKeys...)
}
