package qemu

import (
	"strings"

	"golang.org/x/sys/windows"
)

// isOurs reports whether pid is a live qemu-system process. Windows offers
// no cheap read of another process's command line, so the image name stands
// in for the markers; together with the pidfile in the machine directory
// this tells a reused pid apart in practice.
func isOurs(pid int, _ []string) bool {
	if pid <= 0 {
		return false
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return false
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil || code != 259 { // STILL_ACTIVE
		return false
	}
	buf := make([]uint16, windows.MAX_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err != nil {
		return false
	}
	return strings.Contains(strings.ToLower(windows.UTF16ToString(buf[:n])), "qemu-system")
}
