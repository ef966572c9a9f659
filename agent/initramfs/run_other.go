//go:build !linux

package initramfs

import "errors"

// Run is Linux only: the initramfs stage runs in the guest.
func Run(version string) error {
	return errors.New("the initramfs stage runs only on Linux")
}
