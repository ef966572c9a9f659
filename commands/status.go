package commands

import (
	"context"
	"fmt"
	"text/template"

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
		Description: `Prints one of: running, stopped, saved, paused, starting, aborted, not-created,
and for a server (driver ssh) unreachable. It reads local state only and
starts no program, so it is instant. Its exit status says the state too, for
scripts, as systemctl is-active does: 0 running, 3 stopped, 4 saved,
5 not-created, 6 starting or paused, 7 aborted, 8 unreachable; 1 is an error.
--format json prints {"name": …, "state": …}; a Go template gets the fields
Name, State and DockerHost (set when running):

   tender status --format '{{.Name}} is {{.State}}'
   if tender status >/dev/null; then echo running; fi`,
		Flags: []cli.Flag{formatFlag()},
		Action: func(c *cli.Context) error {
			format := c.String("format")
			tmpl, err := parseFormat(format)
			if err != nil {
				return err
			}
			return withMachine(env, c, func(st *machine.Store, name string) error {
				return printStatus(c.Context, env, st, name, format, tmpl)
			})
		},
	}
}

// printStatus prints machine name's state as format (and tmpl, its parsed
// template) asks, and returns the state's exit status as a cli.Exit.
func printStatus(ctx context.Context, env *Env, st *machine.Store, name, format string, tmpl *template.Template) error {
	status, err := st.Status(ctx, name)
	if err != nil {
		return err
	}
	s := statusInfo{Name: name, State: status.State, DockerHost: status.DockerHost()}
	switch {
	case tmpl != nil:
		err = writeTemplate(env.Stdout, tmpl, s)
	case format == "json":
		err = writeJSON(env.Stdout, s)
	default:
		_, err = fmt.Fprintln(env.Stdout, status.State)
	}
	if err != nil {
		return err
	}
	if code := StatusExitCode(status.State); code != 0 {
		return cli.Exit("", code)
	}
	return nil
}

// StatusExitCode is `tender status`'s exit status for a state: 0 only for
// running, and one code for each other state a script may test for.
func StatusExitCode(s machine.State) int {
	switch s {
	case machine.Running:
		return 0
	case machine.Stopped:
		return 3
	case machine.Saved:
		return 4
	case machine.NotCreated:
		return 5
	case machine.Starting, machine.Paused:
		return 6
	case machine.Aborted:
		return 7
	case machine.Unreachable:
		return 8
	}
	return 1
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
