package qemu

import (
	"os"
	"strconv"
)

// isOurs reports whether pid is alive and its argv holds every marker. A
// dead pid, a zombie (empty cmdline) or a pid reused by another program
// answer false. One read of /proc, no process started.
func isOurs(pid int, markers []string) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return false
	}
	return hasArgs(splitNUL(b), markers)
}
