package vm

import "fmt"

// CanonicalArch is the name tender uses for an architecture, the Go one
// (amd64, arm64), for either of its spellings: the Go name, or the kernel's
// and QEMU's (x86_64, aarch64), which people type because uname -m prints
// it. ok is false for any other name, which comes back unchanged for the
// caller to reject or name in its error.
func CanonicalArch(arch string) (canonical string, ok bool) {
	switch arch {
	case "amd64", "x86_64":
		return "amd64", true
	case "arm64", "aarch64":
		return "arm64", true
	}
	return arch, false
}

// ForeignArchWarning is the warning for a guest architecture other than the
// host's (either spelling, see CanonicalArch), or "" when they are the same
// or either is unknown. Such a guest runs under CPU emulation, which
// hardware virtualization cannot help.
func ForeignArchWarning(guest, host string) string {
	g, gok := CanonicalArch(guest)
	h, hok := CanonicalArch(host)
	if !gok || !hok || g == h {
		return ""
	}
	return fmt.Sprintf("warning: the %s guest is emulated on this %s host (QEMU TCG), which is slow; `--arch %s` makes a fast machine", g, h, h)
}
