package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/machine"
)

func swarmCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "swarm",
		Usage: "join machines on one network into a Docker Swarm",
		Description: `Makes a Docker Swarm of machines that share a network (tender init --network),
starting any that are stopped. The swarm's traffic (2377, 7946, 4789) goes over
the network; ports published by services reach 127.0.0.1 on the host through
the routing mesh.

   tender init --network lab n1 && tender init --network lab n2
   tender swarm init n1 n2          # n1 manager, n2 worker
   eval "$(tender shellinit n1)"; docker node ls
   tender swarm join n3 --manager n1
   tender swarm leave n3`,
		Subcommands: []*cli.Command{
			{
				Name:      "init",
				Usage:     "make the first machine a swarm manager and join the others as workers",
				ArgsUsage: "MANAGER [WORKER...]",
				Action: func(c *cli.Context) error {
					if !c.Args().Present() {
						return fmt.Errorf("`tender swarm init` needs the manager's machine name, then the workers' (like `tender swarm init n1 n2`)")
					}
					names := c.Args().Slice()
					for _, n := range names {
						if err := config.ValidateName(n); err != nil {
							return err
						}
					}
					st, err := env.store(c)
					if err != nil {
						return err
					}
					nodes, err := st.SwarmInit(c.Context, names[0], names[1:])
					for _, n := range nodes {
						printSwarmNode(env, n)
					}
					if err != nil {
						return err
					}
					fmt.Fprintf(env.Stderr, "use it with: eval \"$(tender shellinit%s)\"; docker node ls\n", machine.NameArg(names[0]))
					return nil
				},
			},
			{
				Name:      "join",
				Usage:     "join a machine to the swarm another machine manages",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "manager", Usage: "the machine that manages the swarm (required)", Required: true},
					&cli.StringFlag{Name: "role", Usage: "worker or manager", Value: machine.RoleWorker},
				},
				Action: func(c *cli.Context) error {
					name, err := swarmNameArg(c)
					if err != nil {
						return err
					}
					if err := config.ValidateName(c.String("manager")); err != nil {
						return fmt.Errorf("--manager: %w", err)
					}
					st, err := env.store(c)
					if err != nil {
						return err
					}
					n, err := st.SwarmJoin(c.Context, name, c.String("manager"), c.String("role"))
					if err != nil {
						return err
					}
					printSwarmNode(env, n)
					return nil
				},
			},
			{
				Name:      "leave",
				Usage:     "take a machine out of its swarm",
				ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					name, err := swarmNameArg(c)
					if err != nil {
						return err
					}
					st, err := env.store(c)
					if err != nil {
						return err
					}
					if err := st.SwarmLeave(c.Context, name); err != nil {
						return err
					}
					fmt.Fprintf(env.Stdout, "machine %q left its swarm\n", name)
					return nil
				},
			},
		},
	}
}

// swarmNameArg is the one NAME argument of swarm join and leave.
func swarmNameArg(c *cli.Context) (string, error) {
	if c.Args().Len() != 1 {
		return "", fmt.Errorf("`tender swarm %s` takes one machine name, got %d arguments", c.Command.Name, c.Args().Len())
	}
	return c.Args().First(), config.ValidateName(c.Args().First())
}

func printSwarmNode(env *Env, n machine.SwarmNode) {
	already := ""
	if n.Already {
		already = " (already)"
	}
	fmt.Fprintf(env.Stdout, "%s: %s on %s%s\n", n.Machine, n.Role, n.Address, already)
}
