package commands

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/machine"
)

func portsCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "ports",
		Usage:     "list the guest ports forwarded to 127.0.0.1",
		ArgsUsage: "[NAME]",
		Description: `Ports the guest listens on (containers' docker run -p, UDP too) and the
ports a swarm service publishes (docker service create -p) are
forwarded by the machine's host agent to the same port on the host's
127.0.0.1, within a second or two of the guest opening them. A port already
taken on the host is skipped and listed with the reason; it is tried again
every few seconds. Guest ports 22 and 2376 are never forwarded, nor the
swarm's own ports (tcp 2377, tcp and udp 7946, udp 4789).
It reads a file the host agent keeps; --format json prints it.

   tender ports dev
   tender ports --format 'table {{.Proto}}\t{{.Port}}\t{{.Status}}'`,
		Flags: []cli.Flag{formatFlag()},
		Action: func(c *cli.Context) error {
			format := c.String("format")
			tmpl, err := parseFormat(format)
			if err != nil {
				return err
			}
			return withMachine(env, c, func(st *machine.Store, name string) error {
				res, err := st.Ports(name)
				if err != nil {
					return err
				}
				switch {
				case tmpl != nil:
					return writeRows(env.Stdout, tmpl, res.Forwards)
				case format == "json":
					return writeJSON(env.Stdout, res.Forwards)
				}
				if !res.AgentRunning {
					fmt.Fprintf(env.Stderr, "the host agent of %q is not running: nothing is forwarded (`tender up%s` starts it)\n", name, machine.NameArg(name))
				} else if !res.Connected {
					fmt.Fprintf(env.Stderr, "the host agent of %q is (re)connecting to the guest; the list may be stale\n", name)
				}
				tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "PROTO\tHOST\tGUEST\tSTATUS")
				for _, f := range res.Forwards {
					status := f.Status
					if f.Reason != "" {
						status += ": " + f.Reason
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", f.Proto, f.HostAddr(), f.Port, status)
				}
				return tw.Flush()
			})
		},
	}
}

func hostAgentCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "hostagent",
		Usage:     "forward the guest's ports and keep its clock (started by `tender up`)",
		ArgsUsage: "NAME",
		Hidden:    true,
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				return st.RunHostAgent(c.Context, name, env.Stderr)
			})
		},
	}
}
