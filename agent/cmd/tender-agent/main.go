//go:build linux

// Command tender-agent is the guest's PID 1, and a small client for it.
//
// One static binary plays two parts (stage 1 before it, in the initramfs, is
// the smaller tender-init):
//   - as PID 1 of the real root it runs the guest (package guest);
//   - run inside the guest (by the host over SSH, or by a user) it does one
//     of the commands of api.Commands: some itself (watch-ports, clock,
//     set-clock, set-dns, version), the others by asking PID 1 over its
//     control socket (restart-docker, poweroff).
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
	if os.Getpid() == 1 {
		err = guest.Run(version)
	} else {
		err = dispatch(handlers(version), args[1:], os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tender-agent: %v\n", err)
		return 1
	}
	return 0
}
