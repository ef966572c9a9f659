package qemu

import "golang.org/x/sys/windows"

// kvmUsable: Windows has no KVM.
func kvmUsable(string) bool { return false }

// whpxInstalled reports whether the Windows Hypervisor Platform API is
// present (the optional feature "HypervisorPlatform" is enabled), which
// QEMU's -accel whpx needs.
func whpxInstalled() bool {
	return windows.NewLazySystemDLL("WinHvPlatform.dll").Load() == nil
}
