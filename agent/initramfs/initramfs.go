// Package initramfs is the agent's first stage: from the initramfs it mounts
// the ISO's squashfs root under a tmpfs overlay and switches to it.
package initramfs

import (
	"errors"
	"os"
)

// Marker is the file that exists only in the initramfs.
const Marker = "/etc/tender-initramfs"

// Active reports whether this process runs in the initramfs.
func Active() bool {
	_, err := os.Stat(Marker)
	return err == nil
}

// Run mounts the real root and execs /sbin/tender-agent in it. It returns
// only on failure.
func Run(version string) error {
	return errors.New("initramfs stage: not built yet")
}
