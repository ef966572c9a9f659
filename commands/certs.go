package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/machine"
)

func regenerateCertsCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "regenerate-certs",
		Usage:     "issue a new Docker server certificate (and with --client, client certificates)",
		ArgsUsage: "[NAME]",
		Description: `Makes new certificates with tender's CA, copies the server side to the running
guest over SSH and restarts dockerd. With --client, the client certificates in
DOCKER_CERT_PATH are replaced too.

   tender regenerate-certs dev
   tender regenerate-certs --client dev`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "client", Usage: "also replace the client certificates"}},
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				if err := st.RegenerateCerts(c.Context, name, c.Bool("client")); err != nil {
					return err
				}
				fmt.Fprintf(env.Stderr, "new certificates installed for machine %q\n", name)
				return nil
			})
		},
	}
}
