package commands

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"text/template"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/machine"
)

// listEntry is one row of `tender ls`.
type listEntry struct {
	Name        string        `json:"name"`
	Driver      string        `json:"driver"`
	State       machine.State `json:"state"`
	DockerHost  string        `json:"docker_host"`
	CPUs        int           `json:"cpus"`
	MemoryMiB   int           `json:"memory_mib"`
	DiskSizeMiB int           `json:"disk_size_mib"`
	Network     string        `json:"network"` // the tender network it is on; "" for none
}

func lsCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:    "ls",
		Aliases: []string{"list"},
		Usage:   "list machines",
		Description: `Prints a table of every machine. --format json prints a JSON array; a Go
template is applied to each machine, one line each, with the fields Name,
Driver, State, DockerHost, CPUs, MemoryMiB, DiskSizeMiB and Network. A machine whose
state cannot be read is still listed, its state "-" (empty in JSON and
templates), with the reason on stderr and exit status 1. As with docker,
"table" before a template prints a header and aligned columns, and -q only
the names:

   tender ls --format '{{.Name}} {{.State}}'
   tender ls --format 'table {{.Name}}\t{{.State}}\t{{.DockerHost}}'
   for m in $(tender ls -q); do tender down "$m"; done`,
		Flags: []cli.Flag{formatFlag("table"), &cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the machines' names, one a line"}},
		Action: func(c *cli.Context) error {
			format := c.String("format")
			tmpl, err := parseFormat(format, "table")
			if err != nil {
				return err
			}
			st, err := env.store(c)
			if err != nil {
				return err
			}
			names, err := st.List()
			if err != nil {
				return err
			}
			if c.Bool("quiet") {
				if c.IsSet("format") {
					return errors.New("--quiet and --format cannot be used together: give one")
				}
				for _, n := range names {
					fmt.Fprintln(env.Stdout, n)
				}
				return nil
			}
			rows := []listEntry{}
			var failed []string
			for _, name := range names {
				row, err := entryFor(c, st, name)
				if err != nil {
					// The row still lists what is known; the state is left
					// blank rather than made up, and the exit status says
					// the list is incomplete.
					fmt.Fprintf(env.Stderr, "tender: %v\n", err)
					failed = append(failed, name)
				}
				rows = append(rows, row)
			}
			if err := printList(env, format, tmpl, rows); err != nil {
				return err
			}
			if len(failed) > 0 {
				return cli.Exit("", 1)
			}
			return nil
		},
	}
}

// printList prints the rows as a table, as JSON or through a template.
func printList(env *Env, format string, tmpl *template.Template, rows []listEntry) error {
	if tmpl != nil {
		return writeRows(env.Stdout, tmpl, rows)
	}
	if format == "json" {
		return writeJSON(env.Stdout, rows)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDRIVER\tSTATE\tDOCKER_HOST\tCPUS\tMEMORY\tDISK\tNETWORK")
	for _, r := range rows {
		state := string(r.State)
		if state == "" {
			state = "-" // unknown: see the error above the table
		}
		network := r.Network
		if network == "" {
			network = "-"
		}
		cpus, memory, disk := fmt.Sprint(r.CPUs), mib(r.MemoryMiB), mib(r.DiskSizeMiB)
		if r.CPUs == 0 { // unreadable settings, or a server's (not tender's to size)
			cpus, memory, disk = "-", "-", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Driver, state, r.DockerHost, cpus, memory, disk, network)
	}
	return tw.Flush()
}

// entryFor is machine name's row. When its state cannot be read the row
// holds what is known and the error says why.
func entryFor(c *cli.Context, st *machine.Store, name string) (listEntry, error) {
	e := listEntry{Name: name}
	status, err := st.Status(c.Context, name)
	if m := status.Machine; m != nil {
		e.Driver = m.DriverName()
		if !m.IsServer() {
			e.CPUs, e.MemoryMiB, e.DiskSizeMiB = m.Settings.CPUs, m.Settings.MemoryMiB, m.DiskSizeMiB()
		}
		if m.Network != nil {
			e.Network = m.Network.Name
		}
	}
	if err != nil {
		return e, err
	}
	e.State, e.DockerHost = status.State, status.DockerHost()
	return e, nil
}

// mib renders a size in MiB as people write it.
func mib(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%dGiB", n/1024)
	}
	return fmt.Sprintf("%dMiB", n)
}
