package qemu

import "fmt"

// ParseAccel checks a configured accelerator: "auto" (or empty), kvm, hvf,
// whpx or tcg.
func ParseAccel(s string) (Accel, error) {
	switch a := Accel(s); a {
	case "", "auto":
		return Auto, nil
	case KVM, HVF, WHPX, TCG:
		return a, nil
	}
	return "", fmt.Errorf("accelerator must be auto, kvm, hvf, whpx or tcg, got %q", s)
}

// DetectAccel returns the best accelerator on this host: kvm when /dev/kvm
// opens read-write (Linux), hvf when kern.hv_support is 1 (macOS), whpx when
// the Windows Hypervisor Platform is installed, and tcg otherwise. goos is
// runtime.GOOS; it starts no program and takes well under a millisecond.
func DetectAccel(goos string) Accel {
	switch goos {
	case "linux":
		if kvmUsable("/dev/kvm") {
			return KVM
		}
	case "darwin":
		if hvfSupported() {
			return HVF
		}
	case "windows":
		if whpxInstalled() {
			return WHPX
		}
	}
	return TCG
}
