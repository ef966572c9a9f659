package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/machine"
	"github.com/tenderdev/tender/network"
)

func initCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "init",
		Aliases:   []string{"create"},
		Usage:     "create a machine: its keys, certificates and data disk",
		ArgsUsage: "[NAME]",
		Description: `Creates the machine directory in $TENDER_HOME/machines/NAME with an SSH key, the
guest's host key (pinned before the first boot), TLS certificates signed by
tender's CA, and a data disk carrying them to the guest. Nothing is left behind
if it fails. The image comes from --iso, the iso key of config.yaml, or the cache.

   tender init
   tender init --iso out/tender.iso -m 4GiB -c 4 dev
   tender init --network lab n1     # on network "lab", made on first use
   tender init --driver ssh --ssh-host alice@build.example.com --ssh-key ~/.ssh/id_ed25519 big

--network puts the machine on a private network shared with other machines
(see tender network --help); its address there is fixed at init.

--driver ssh makes a machine of a Linux server you already have, with Docker:
tender pins its host key (--ssh-host-key, or shown and asked), checks that the
key logs in and that Docker answers, and at up offers the server's Docker on
127.0.0.1 as for every machine. tender never opens the server's Docker to the
network, and down and delete never touch the server.`,
		Flags: append(append(machineFlags(), &cli.StringFlag{Name: "network", Usage: "put the machine on this private `NET`work with other machines (created on first use)"}), serverFlags()...),
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				flags, err := flagLayer(c)
				if err != nil {
					return err
				}
				m, err := st.InitWith(c.Context, name, flags, machine.InitOptions{Network: c.String("network"), InstallDocker: c.Bool("install-docker")})
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "machine %q created in %s\n", name, m.Dir)
				if m.Network != nil {
					fmt.Fprintf(env.Stdout, "on network %q as %s (%s.%s)\n", m.Network.Name, m.Network.Address, name, network.Domain)
				}
				fmt.Fprintf(env.Stderr, "start it with: tender up%s\n", machine.NameArg(name))
				return nil
			})
		},
	}
}
