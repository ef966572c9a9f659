package commands

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/network"
)

// networkEntry is one row of `tender network ls`.
type networkEntry struct {
	Name     string   `json:"name"`
	Subnet   string   `json:"subnet"`
	Gateway  string   `json:"gateway"`
	Machines []string `json:"machines"`
	Switch   string   `json:"switch"` // "running" or "stopped"
}

func networkCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "network",
		Usage: "manage the private networks that connect machines (for a Swarm)",
		Description: `A network connects machines to each other: each machine on it gets a second
NIC with a fixed address (a static DHCP lease, kept across down and up), and
the machines resolve each other by name (n2, n2.tender.internal). Traffic
between them stays on this host: on QEMU a user-mode switch (tender-net, one
process per network) connects them over unix sockets, started by the first
up and stopped after the last down; on VirtualBox it is an internal network.
Machines join a network when they are made:

   tender init --network lab n1    # creates network "lab" on first use
   tender network create --subnet 10.10.0.0/24 lab2
   tender network ls
   tender network rm lab2`,
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "create a network",
				ArgsUsage: "NET",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "subnet", Usage: "its IPv4 subnet, /16 to /29 (default: the next free 192.168.X.0/24 from 192.168.127.0/24)"},
				},
				Action: func(c *cli.Context) error {
					name, err := networkArg(c)
					if err != nil {
						return err
					}
					st, err := env.store(c)
					if err != nil {
						return err
					}
					n, err := st.Networks().Create(c.Context, name, c.String("subnet"))
					if err != nil {
						return err
					}
					fmt.Fprintf(env.Stdout, "network %q created: %s, gateway and DNS %s\n", n.Name, n.Subnet, n.Gateway)
					fmt.Fprintf(env.Stderr, "put machines on it with: tender init --network %s NAME\n", n.Name)
					return nil
				},
			},
			{
				Name:    "ls",
				Aliases: []string{"list"},
				Usage:   "list networks",
				Description: `Prints every network with its subnet, its machines and whether its switch
runs. --format json prints a JSON array; a Go template gets Name, Subnet,
Gateway, Machines and Switch:

   tender network ls --format '{{.Name}} {{.Subnet}}'`,
				Flags: []cli.Flag{formatFlag("table")},
				Action: func(c *cli.Context) error {
					if c.Args().Present() {
						return fmt.Errorf("too many arguments: %q (`tender network ls` takes none)", c.Args().Slice())
					}
					format := c.String("format")
					tmpl, err := parseFormat(format, "table")
					if err != nil {
						return err
					}
					st, err := env.store(c)
					if err != nil {
						return err
					}
					nets, listErr := st.Networks().List()
					rows := []networkEntry{}
					for _, n := range nets {
						row := networkEntry{Name: n.Name, Subnet: n.Subnet, Gateway: n.Gateway, Machines: n.Machines(), Switch: "stopped"}
						if row.Machines == nil {
							row.Machines = []string{}
						}
						if st.Networks().SwitchPID(n.Name) != 0 {
							row.Switch = "running"
						}
						rows = append(rows, row)
					}
					if err := printNetworks(env, format, tmpl, rows); err != nil {
						return err
					}
					return listErr
				},
			},
			{
				Name:      "rm",
				Aliases:   []string{"remove"},
				Usage:     "remove a network no machine is on",
				ArgsUsage: "NET",
				Action: func(c *cli.Context) error {
					name, err := networkArg(c)
					if err != nil {
						return err
					}
					st, err := env.store(c)
					if err != nil {
						return err
					}
					if err := st.Networks().Remove(c.Context, name); err != nil {
						return err
					}
					fmt.Fprintf(env.Stdout, "network %q removed\n", name)
					return nil
				},
			},
		},
	}
}

// networkArg is the one NET argument of a network subcommand.
func networkArg(c *cli.Context) (string, error) {
	if c.Args().Len() != 1 {
		return "", fmt.Errorf("`tender network %s` takes one network name, got %d arguments (like `tender network %s lab`)", c.Command.Name, c.Args().Len(), c.Command.Name)
	}
	name := c.Args().First()
	return name, network.ValidateName(name)
}

func printNetworks(env *Env, format string, tmpl *template.Template, rows []networkEntry) error {
	if tmpl != nil {
		return writeRows(env.Stdout, tmpl, rows)
	}
	if format == "json" {
		return writeJSON(env.Stdout, rows)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSUBNET\tGATEWAY\tSWITCH\tMACHINES")
	for _, r := range rows {
		machines := strings.Join(r.Machines, ",")
		if machines == "" {
			machines = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Subnet, r.Gateway, r.Switch, machines)
	}
	return tw.Flush()
}
