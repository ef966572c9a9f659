package qemu

import "golang.org/x/sys/unix"

// hvfSupported reads kern.hv_support, which is 1 when Hypervisor.framework
// can run guests on this Mac.
func hvfSupported() bool {
	v, err := unix.SysctlUint32("kern.hv_support")
	return err == nil && v == 1
}
