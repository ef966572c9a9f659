//go:build !windows

package network

import (
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// switchAlive reports whether pid is a running switch. On Linux its command
// line is checked too, so a recycled pid is not taken for it.
func switchAlive(pid int) bool {
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
	argv0, _, _ := strings.Cut(string(b), "\x00")
	return strings.HasSuffix(argv0, SwitchProgram)
}

// exited reports whether process pid is gone or a zombie (a switch this
// tender started and that died: nobody reaps it before tender exits).
func exited(pid int) bool {
	if unix.Kill(pid, 0) != nil {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return runtime.GOOS == "linux"
	}
	// pid (comm) S …: the state follows the last ')'.
	_, rest, ok := strings.Cut(string(b)[strings.LastIndexByte(string(b), ')')+1:], " ")
	return ok && strings.HasPrefix(rest, "Z")
}

func terminate(pid int, kill bool) {
	sig := unix.SIGTERM
	if kill {
		sig = unix.SIGKILL
	}
	_ = unix.Kill(pid, sig)
}

// Supported reports whether this host can run networks between machines.
func Supported() error { return nil }
