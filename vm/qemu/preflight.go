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

// StartWarning warns once per boot that QEMU will emulate the CPU.
func (d *Driver) StartWarning(s vm.Spec) string {
	if a, err := d.AccelFor(s); err == nil && a.Emulated() {
		return TCGWarning
	}
	return ""
}
