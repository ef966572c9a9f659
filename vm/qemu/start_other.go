//go:build !windows

package qemu

import (
	"context"
	"errors"

	"github.com/tenderdev/tender/vm"
)

// startDetached is only needed on Windows, where QEMU cannot daemonize.
func (d *Driver) startDetached(context.Context, vm.Spec, Host) error {
	return errors.New("starting QEMU detached is only implemented for Windows hosts")
}
