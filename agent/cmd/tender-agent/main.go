// Command tender-agent is the guest's PID 1, and a small client for it.
//
// One static binary plays two parts (stage 1 before it, in the initramfs, is
// the smaller tender-init):
//   - as PID 1 of the real root it runs the guest (package guest);
//   - run by a user inside the guest it sends requests to PID 1
//     (`tender-agent restart-docker`, `tender-agent poweroff`, `tender-agent version`).
package main

import (
	"fmt"
	"os"

	"github.com/tenderdev/tender/agent/guest"
)

// version is stamped at build time: -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args))
}

func run(args []string) int {
	var err error
	switch {
	case os.Getpid() == 1:
		err = guest.Run(version)
	default:
		var ok bool
		if ok, err = hostCall(args[1:], os.Stdout); !ok {
			err = guest.Client(version, args[1:], os.Stdout)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tender-agent: %v\n", err)
		return 1
	}
	return 0
}
