package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/machine"
)

func infoCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "info",
		Aliases:   []string{"inspect"},
		Usage:     "print the machine's settings, state, ports, image version and paths as JSON",
		ArgsUsage: "[NAME]",
		Description: `Prints JSON: settings, state, ports, paths, and the versions of this tender,
of the machine's image and of its running guest agent (asked over SSH), with
advice when they disagree in a way that matters. A Go template gets the
fields Name, State, Driver, DriverReason, DockerHost, Server (a server's
ssh_host, driver ssh), SSHPort, DockerPort, ISO, ISOVersion, CPUs, MemoryMiB, DiskSizeMiB, Paths, Networks, SavedBytes (a saved
machine's state file), Runtime, Versions
and Advice:

   tender info --format '{{.Versions.Agent}}'
   tender info --format '{{index .Paths "cert_path"}}'`,
		Flags: []cli.Flag{formatFlag()},
		Action: func(c *cli.Context) error {
			tmpl, err := parseFormat(c.String("format"))
			if err != nil {
				return err
			}
			return withMachine(env, c, func(st *machine.Store, name string) error {
				info, err := st.Info(c.Context, name, env.version())
				if err != nil {
					return err
				}
				for _, w := range info.Warnings {
					fmt.Fprintf(env.Stderr, "warning: %s\n", w)
				}
				for _, a := range info.Advice {
					fmt.Fprintf(env.Stderr, "tender: %s\n", a)
				}
				if tmpl != nil {
					return writeTemplate(env.Stdout, tmpl, info)
				}
				return writeJSON(env.Stdout, info)
			})
		},
	}
}
