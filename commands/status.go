package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/machine"
)

// statusInfo is what `tender status --format` prints.
type statusInfo struct {
	Name       string        `json:"name"`
	State      machine.State `json:"state"`
	DockerHost string        `json:"docker_host,omitempty"`
}

func statusCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "print the machine's state in one word",
		ArgsUsage: "[NAME]",
		Description: `Prints one of: running, stopped, saved, paused, starting, aborted, not-created.
It reads local state only and starts no program, so it is instant.
--format json prints {"name": …, "state": …}; a Go template gets the fields
Name, State and DockerHost (set when running):

   tender status --format '{{.Name}} is {{.State}}'`,
		Flags: []cli.Flag{formatFlag()},
		Action: func(c *cli.Context) error {
			format := c.String("format")
			tmpl, err := parseFormat(format)
			if err != nil {
				return err
			}
			return withMachine(env, c, func(st *machine.Store, name string) error {
				status, err := st.Status(c.Context, name)
				if err != nil {
					return err
				}
				s := statusInfo{Name: name, State: status.State, DockerHost: status.DockerHost()}
				switch {
				case tmpl != nil:
					return writeTemplate(env.Stdout, tmpl, s)
				case format == "json":
					return writeJSON(env.Stdout, s)
				}
				fmt.Fprintln(env.Stdout, status.State)
				return nil
			})
		},
	}
}

func ipCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "ip",
		Usage:     "print the address where the machine's published ports are reachable",
		ArgsUsage: "[NAME]",
		Description: `Ports published by containers (docker run -p) are forwarded to the host's
loopback, so this prints 127.0.0.1 for a running machine.

   curl "http://$(tender ip dev):8080/"`,
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				if _, err := st.Running(c.Context, name); err != nil {
					return err
				}
				fmt.Fprintln(env.Stdout, "127.0.0.1")
				return nil
			})
		},
	}
}
