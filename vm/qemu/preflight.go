package qemu

import (
	"context"

	"github.com/tenderdev/tender/vm"
)

var _ vm.Preflighter = (*Driver)(nil)

// Preflight checks what Create checks; QEMU registers nothing, so the two
// are the same.
func (d *Driver) Preflight(ctx context.Context, s vm.Spec) error { return d.Create(ctx, s) }
