//go:build linux

// Command tender-init is the /init of the guest's initramfs: stage 1 of the
// boot. It finds the boot medium, mounts the squashfs root under a tmpfs
// overlay, switches to it and execs tender-agent there as PID 1 (package
// initramfs).
//
// It is a separate program from tender-agent so that the initramfs carries
// only the little stage 1 needs (about a quarter of the agent's size) rather
// than a second copy of the whole agent.
package main

import (
	"fmt"
	"os"

	"github.com/tenderdev/tender/agent/initramfs"
)

// version is stamped at build time: -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if os.Getpid() != 1 || !initramfs.Active() {
		fmt.Fprintln(os.Stderr, "tender-init: runs only as /init of the tender initramfs")
		os.Exit(2)
	}
	// Run returns only when the boot cannot go on; it has said why on the
	// console and powered the machine off.
	if err := initramfs.Run(version); err != nil {
		fmt.Fprintf(os.Stderr, "tender-init: %v\n", err)
		os.Exit(1)
	}
}
