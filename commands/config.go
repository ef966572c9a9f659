package commands

import (
	"encoding/json"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/machine"

	"github.com/tenderdev/tender/config"
)

func configCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "config",
		Aliases:   []string{"cfg"},
		Usage:     "print the effective settings as YAML, with where each value came from",
		ArgsUsage: "[NAME]",
		Description: `Precedence, highest first: command-line flags, TENDER_* environment variables,
the machine's machine.yaml, $TENDER_HOME/config.yaml, builtin defaults. For a
machine that does not exist yet, prints what init would use.
--format json prints the settings as JSON with their origins; a Go template
gets the fields Name, Driver, CPUs, MemoryMiB, DiskSizeMiB, ISO, ISOURL, SSHPort,
DockerPort, Shares, DNS, Arch, Accel, VBoxManage, BootTimeout and Origins:

   tender config --format '{{.MemoryMiB}} MiB from {{index .Origins "memory"}}'`,
		Flags: []cli.Flag{formatFlag("yaml")},
		Action: func(c *cli.Context) error {
			format := c.String("format")
			tmpl, err := parseFormat(format, "yaml")
			if err != nil {
				return err
			}
			return withMachine(env, c, func(st *machine.Store, name string) error {
				s, err := st.Settings(name)
				if err != nil {
					return err
				}
				switch {
				case tmpl != nil:
					// With the machine's Name, as ls and info have it.
					return writeTemplate(env.Stdout, tmpl, struct {
						Name string
						config.Settings
					}{name, s})
				case format == "json":
					return writeJSON(env.Stdout, settingsJSON(s))
				}
				_, err = env.Stdout.Write(s.YAML(true))
				return err
			})
		},
	}
}

// settingsJSON is the settings as JSON, with boot_timeout written as in
// YAML ("5m0s") rather than in nanoseconds.
func settingsJSON(s config.Settings) map[string]any {
	data, _ := json.Marshal(s)
	out := map[string]any{}
	_ = json.Unmarshal(data, &out)
	out[config.KeyBootTimeout] = s.BootTimeout.String()
	return out
}
