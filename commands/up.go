package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/machine"
)

func upCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "up",
		Aliases:   []string{"start", "boot", "resume"},
		Usage:     "boot the machine and wait until Docker answers",
		ArgsUsage: "[NAME]",
		Description: `Boots the machine with SSH and the Docker API forwarded to 127.0.0.1, waits
until SSH answers with the pinned host key and Docker answers over TLS, then
prints how to point the docker CLI at it. On a running machine it does nothing.
It also creates or updates the docker context "tender" ("tender-NAME" for other
machines), so ` + "`docker --context tender ps`" + ` works without environment
variables; --activate makes it docker's current context.

   tender up
   tender up --activate
   tender up --dockerport 2376 dev
   tender up --cpus 4 --memory 8GiB dev     # kept, as tender set does

--cpus, --memory and --disksize change the machine for good, as tender set
does (a running machine takes them at its next boot); the other flags last
one boot.`,
		Flags: append(machineFlags(),
			&cli.BoolFlag{Name: "activate", Usage: "make the machine's docker context docker's current context"},
			// Also a global flag; here too so that `tender up --verbose` works.
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print the boot's phase timings and echo every external command"}),
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				flags, err := flagLayer(c)
				if err != nil {
					return err
				}
				sizing, rest := splitSizing(flags)
				if !sizing.Empty() {
					set, err := st.Set(c.Context, name, sizing)
					if err != nil {
						return err
					}
					reportSet(env, name, set)
				}
				res, err := st.Up(c.Context, name, rest)
				if err != nil {
					return err
				}
				if res.AlreadyRunning {
					fmt.Fprintf(env.Stderr, "machine %q is already running\n", name)
				} else {
					fmt.Fprintf(env.Stderr, "machine %q is running; Docker answered after %.1fs\n", name, res.Took.Seconds())
				}
				if verbose(c) {
					for _, p := range res.Phases {
						fmt.Fprintf(env.Stderr, "  %-22s %6.2fs\n", p.Name, p.After.Seconds())
					}
				}
				env.updateDockerContext(res.Machine, c.Bool("activate"))
				env.adviseVersions(c, res.Machine, res.AgentVersion)
				fmt.Fprintf(env.Stderr, "To connect the docker CLI to it, run:\n    eval \"$(tender shellinit%s)\"\n", machine.NameArg(name))
				return nil
			})
		},
	}
}
