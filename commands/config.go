package commands

import (
	"github.com/urfave/cli/v2"
)

func configCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "config",
		Aliases:   []string{"cfg"},
		Usage:     "print the effective settings as YAML, with where each value came from",
		ArgsUsage: "[NAME]",
		Description: `Precedence, highest first: command-line flags, TENDER_* environment variables,
the machine's machine.yaml, $TENDER_HOME/config.yaml, builtin defaults. For a
machine that does not exist yet, prints what init would use.`,
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(name string) error {
				st, err := env.store(c)
				if err != nil {
					return err
				}
				s, err := st.Settings(name)
				if err != nil {
					return err
				}
				_, err = env.Stdout.Write(s.YAML(true))
				return err
			})
		},
	}
}
