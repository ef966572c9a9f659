package commands

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/machine"
	"github.com/tenderdev/tender/vm"
)

// listEntry is one row of `tender ls`.
type listEntry struct {
	Name        string   `json:"name"`
	Driver      string   `json:"driver"`
	State       vm.State `json:"state"`
	DockerHost  string   `json:"docker_host"`
	CPUs        int      `json:"cpus"`
	MemoryMiB   int      `json:"memory_mib"`
	DiskSizeMiB int      `json:"disk_size_mib"`
}

func lsCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:    "ls",
		Aliases: []string{"list"},
		Usage:   "list machines",
		Description: `Prints a table of every machine. --format json prints a JSON array; a Go
template is applied to each machine, one line each, with the fields Name,
Driver, State, DockerHost, CPUs, MemoryMiB and DiskSizeMiB:

   tender ls --format '{{.Name}} {{.State}}'`,
		Flags: []cli.Flag{formatFlag("table")},
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
			rows := []listEntry{}
			for _, name := range names {
				rows = append(rows, entryFor(c, st, name))
			}
			if tmpl != nil {
				for _, r := range rows {
					if err := writeTemplate(env.Stdout, tmpl, r); err != nil {
						return err
					}
				}
				return nil
			}
			if format == "json" {
				return writeJSON(env.Stdout, rows)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDRIVER\tSTATE\tDOCKER_HOST\tCPUS\tMEMORY\tDISK")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.Name, r.Driver, r.State, r.DockerHost, r.CPUs, mib(r.MemoryMiB), mib(r.DiskSizeMiB))
			}
			return tw.Flush()
		},
	}
}

func entryFor(c *cli.Context, st *machine.Store, name string) listEntry {
	e := listEntry{Name: name}
	state, m, err := st.State(c.Context, name)
	if err != nil || m == nil {
		e.State = "error"
		return e
	}
	e.State = state
	e.Driver = m.Driver.Name()
	if state == vm.Running {
		e.DockerHost = m.DockerHost()
	}
	e.CPUs, e.MemoryMiB, e.DiskSizeMiB = m.Settings.CPUs, m.Settings.MemoryMiB, m.Settings.DiskSizeMiB
	return e
}

// mib renders a size in MiB as people write it.
func mib(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%dGiB", n/1024)
	}
	return fmt.Sprintf("%dMiB", n)
}
