package netswitch

import (
	"context"
	"errors"
	"io"

	"github.com/tenderdev/tender/network"
)

// ErrNotSupported is Run's answer on Windows, which has no unix datagram
// sockets for the NICs' frames.
var ErrNotSupported = errors.New("networks between machines are not supported on Windows (they need unix datagram sockets)")

// Run checks cfg and returns ErrNotSupported.
func Run(_ context.Context, cfg *network.SwitchConfig, _ io.Writer) error {
	if _, err := check(cfg); err != nil {
		return err
	}
	return ErrNotSupported
}
