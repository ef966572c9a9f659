//go:build !windows

package hostagent

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Alive reports whether pid is a running host agent of machine name. On
// Linux its command line is checked too, so a recycled pid is not taken
// for it.
func Alive(pid int, name string) bool {
	if pid <= 0 || unix.Kill(pid, 0) != nil {
		return false
	}
	if runtime.GOOS != "linux" {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	return slices.Contains(args, "hostagent") && slices.Contains(args, name)
}

// Terminate asks the host agent to stop.
func Terminate(pid int) error { return unix.Kill(pid, unix.SIGTERM) }
