package commands

import (
	"bufio"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/statestream"
)

// qemuStateCommand is the filter QEMU pipes a saved machine's stream
// through (the QEMU driver's StreamFilter): stdin to stdout, compressed or back.
func qemuStateCommand() *cli.Command {
	return &cli.Command{
		Name:      "qemu-state",
		Usage:     "compress or decompress a saved machine's QEMU stream, stdin to stdout (run by QEMU during `tender save` and `tender up`)",
		ArgsUsage: "compress|decompress",
		Hidden:    true,
		Action: func(c *cli.Context) error {
			in := bufio.NewReaderSize(os.Stdin, 1<<20)
			out := bufio.NewWriterSize(os.Stdout, 1<<20)
			var err error
			switch c.Args().First() {
			case "compress":
				err = statestream.Compress(in, out)
			case "decompress":
				err = statestream.Decompress(in, out)
			default:
				return fmt.Errorf("qemu-state takes compress or decompress, got %q", c.Args().First())
			}
			if err != nil {
				return err
			}
			return out.Flush()
		},
	}
}
