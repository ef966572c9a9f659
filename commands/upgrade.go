package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/iso"
	"github.com/tenderdev/tender/machine"
)

func upgradeCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "upgrade",
		Usage:     "give the machine the latest image, keeping its data disk",
		ArgsUsage: "[NAME]",
		Description: `Downloads the latest image from iso_url (as ` + "`tender download`" + `), or takes the one
given with --iso, and makes it the machine's boot image (iso: in
machine.yaml). The data disk is not touched: images, containers and volumes
survive. A running machine is shut down cleanly first and started again
after; a stopped one boots the new image at its next ` + "`tender up`" + `.

   tender upgrade
   tender upgrade --iso out/tender.iso dev`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "iso", Usage: "use this image instead of downloading the latest"}},
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				res, err := st.Upgrade(c.Context, name, c.String("iso"))
				if err != nil {
					return err
				}
				to := res.To.Version()
				if res.UpToDate {
					fmt.Fprintf(env.Stderr, "machine %q already has tender image %s (%s); nothing to do\n", name, to, res.To.Path)
					return nil
				}
				from := res.From
				if from == "" {
					from = "unknown"
				}
				fmt.Fprintf(env.Stderr, "machine %q: image %s → %s (%s); the data disk is kept\n", name, from, to, res.To.Path)
				if res.Up == nil {
					fmt.Fprintf(env.Stderr, "it boots the new image at its next start: tender up%s\n", machine.NameArg(name))
					return nil
				}
				m := res.Up.Machine
				fmt.Fprintf(env.Stderr, "machine %q is running again; Docker answered after %.1fs\n", name, res.Up.Took.Seconds())
				env.updateDockerContext(m, false)
				env.adviseVersions(c, m, "")
				return nil
			})
		},
	}
}

// adviseVersions prints, on stderr, what to do when this tender, the
// machine's image and its running agent disagree in a way that matters.
// agent is the agent's version when the caller knows it ("": ask the
// guest).
func (env *Env) adviseVersions(c *cli.Context, m *machine.Machine, agent string) {
	v := machine.Versions{CLI: env.version(), Image: m.Runtime.ISOVersion}
	if img, err := iso.Open(m.Settings.ISO); err == nil {
		v.Image = img.Version() // the file may have changed since (tender download)
	}
	v.Agent = agent
	if agent == "" {
		if a, err := m.AgentVersion(c.Context); err == nil {
			v.Agent = a
		}
	}
	for _, a := range v.Advice(m.Name) {
		fmt.Fprintf(env.Stderr, "tender: %s\n", a)
	}
}
