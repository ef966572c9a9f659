package qemu

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// isOurs reports whether pid is alive and its argv holds every marker, read
// with sysctl kern.procargs2 (no process started). When the kernel refuses
// the read (another user's process), it falls back to kill(pid, 0), which
// cannot tell a reused pid; the QMP socket then decides.
func isOurs(pid int, markers []string) bool {
	if pid <= 0 {
		return false
	}
	b, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil || len(b) < 4 {
		return unix.Kill(pid, 0) == nil
	}
	// Layout: argc (int32), the executable path, NUL padding, argv[0..argc), env.
	argc := int(binary.LittleEndian.Uint32(b[:4]))
	rest := b[4:]
	i := 0
	for i < len(rest) && rest[i] != 0 { // executable path
		i++
	}
	for i < len(rest) && rest[i] == 0 { // padding
		i++
	}
	all := splitNUL(rest[i:])
	if argc < len(all) {
		all = all[:argc]
	}
	return hasArgs(all, markers)
}
