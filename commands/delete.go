package commands

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/tenderdev/tender/machine"
)

func deleteCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Aliases:   []string{"destroy", "rm"},
		Usage:     "stop the machine and remove it with its data disk and docker context (the CA stays)",
		ArgsUsage: "[NAME]",
		Description: `Asks first, unless --force. Everything in the machine goes: images,
containers, volumes. A machine directory that holds no machine (no
machine.yaml) is removed too.

   tender delete dev
   tender delete dev -f`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask"}},
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(st *machine.Store, name string) error {
				// Only a missing machine stops delete here: a damaged
				// machine.yaml is what delete is for.
				if _, err := st.Load(name, emptyLayer()); errors.Is(err, machine.ErrNotExist) && !st.HalfMade(name) {
					return err
				}
				if !c.Bool("force") {
					ok, err := confirm(env, fmt.Sprintf("Delete machine %q with its data disk, images, containers and volumes? [y/N] ", name))
					if err != nil {
						return err
					}
					if !ok {
						return errors.New("not deleted")
					}
				}
				if err := st.Delete(c.Context, name); err != nil {
					return err
				}
				env.removeDockerContext(name)
				fmt.Fprintf(env.Stderr, "machine %q deleted\n", name)
				return nil
			})
		},
	}
}

// confirm asks on the terminal; without one it refuses, so scripts must say -f.
func confirm(env *Env, question string) (bool, error) {
	if env.Stdin == nil || !term.IsTerminal(int(env.Stdin.Fd())) {
		return false, errors.New("refusing to delete without confirmation: stdin is not a terminal (pass -f to delete anyway)")
	}
	return ask(env, question), nil
}

// ask puts a yes/no question on the terminal: yes is "y" or "yes".
func ask(env *Env, question string) bool {
	fmt.Fprint(env.Stderr, question)
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil {
		return false
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}
