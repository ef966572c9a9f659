//go:build unix

package qemu

import "os"

// kvmUsable reports whether the KVM device opens read-write, which is what
// QEMU needs (existing is not enough: the user may lack the kvm group).
func kvmUsable(dev string) bool {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}
