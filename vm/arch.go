package vm

import "fmt"

// ForeignArchWarning is the warning for a guest architecture other than the
// host's (both GOARCH names; x86_64 and aarch64 read as amd64 and arm64), or
// "" when they are the same or either is unknown. Such a guest runs under
// CPU emulation, which hardware virtualization cannot help.
func ForeignArchWarning(guest, host string) string {
	norm := map[string]string{"amd64": "amd64", "x86_64": "amd64", "arm64": "arm64", "aarch64": "arm64"}
	g, h := norm[guest], norm[host]
	if g == "" || h == "" || g == h {
		return ""
	}
	return fmt.Sprintf("warning: the %s guest is emulated on this %s host (QEMU TCG), which is slow; `--arch %s` makes a fast machine", g, h, h)
}
