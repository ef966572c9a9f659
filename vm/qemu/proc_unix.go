//go:build unix && !linux && !darwin

package qemu

import "golang.org/x/sys/unix"

// isOurs on other unix systems can only check that pid is alive.
func isOurs(pid int, _ []string) bool {
	return pid > 0 && unix.Kill(pid, 0) == nil
}
