package qemu

import (
	"context"

	"github.com/tenderdev/tender/vm"
)

var _ vm.Preflighter = (*Driver)(nil)

// Preflight checks what Create checks; QEMU registers nothing, so the two
// are the same.
func (d *Driver) Preflight(ctx context.Context, s vm.Spec) error { return d.Create(ctx, s) }

var _ vm.StartWarner = (*Driver)(nil)

// StartWarning warns once per boot that QEMU will emulate the CPU: because
// the guest is of another architecture (see vm.ForeignArchWarning), or because
// no accelerator was found.
func (d *Driver) StartWarning(s vm.Spec) string {
	a, err := d.AccelFor(s)
	if err != nil || !a.Emulated() {
		return ""
	}
	if h, err := d.host(s); err == nil && s.Arch != "" {
		if msg := vm.ForeignArchWarning(s.Arch, h.GOARCH); msg != "" {
			return msg
		}
	}
	return TCGWarning
}
