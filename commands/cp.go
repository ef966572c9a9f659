package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/provision"
)

func cpCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "cp",
		Aliases:   []string{"scp"},
		Usage:     "copy files and directories between the host and a machine",
		ArgsUsage: "SRC DST",
		Description: `NAME:path names a path in machine NAME; a relative guest path is under
/home/docker. Directories are copied recursively, both ways, over SFTP.

   tender cp ./app.tar default:/tmp/app.tar
   tender cp default:/var/lib/tender/log ./guest-logs`,
		Action: func(c *cli.Context) error {
			if c.Args().Len() != 2 {
				return fmt.Errorf("cp needs exactly two arguments, SRC and DST, one of them NAME:path (got %d)", c.Args().Len())
			}
			src, dst := c.Args().Get(0), c.Args().Get(1)
			name, err := provision.CopyMachine(src, dst)
			if err != nil {
				return err
			}
			st, err := env.store(c)
			if err != nil {
				return err
			}
			m, err := st.Running(c.Context, name)
			if err != nil {
				return err
			}
			client, err := m.Dial(c.Context)
			if err != nil {
				return err
			}
			defer client.Close()
			return client.Copy(c.Context, src, dst)
		},
	}
}
