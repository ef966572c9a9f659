//go:build !linux

package shares

import (
	"context"
	"errors"

	"github.com/tenderdev/tender/agent/userdata"
)

// Mount is Linux only: the guest is Linux.
func Mount(ctx context.Context, shares []userdata.Share, logf func(string, ...any)) error {
	return errors.New("shares: mounting needs Linux")
}

func lowerPriority() {}
