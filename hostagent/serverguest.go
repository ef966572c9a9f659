package hostagent

import (
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// ErrOwnClock is what a Guest's Clock returns when the machine keeps its
// own clock (a server): the agent then leaves it alone.
var ErrOwnClock = errors.New("the machine keeps its own clock")

// ServerGuest is a machine that is an existing server reached over SSH (the
// ssh driver): its published ports come from its Docker API, and its clock
// is its own.
type ServerGuest struct {
	// Dial opens a connection from the server: "unix" to a socket there.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Socket is the server's Docker socket (provision.ProbeDocker).
	Socket string
	// Interval is how often the containers' ports are read.
	Interval time.Duration
	// Closer ends the connection to the server.
	Closer io.Closer
}

// WatchPorts implements Guest.
func (g ServerGuest) WatchPorts(ctx context.Context) (io.Reader, error) {
	return WatchDockerPorts(ctx, func(ctx context.Context) (net.Conn, error) {
		return g.Dial(ctx, "unix", g.Socket)
	}, g.Interval), nil
}

// Clock implements Guest: a server's clock is not tender's to set.
func (g ServerGuest) Clock(context.Context) (time.Time, error) { return time.Time{}, ErrOwnClock }

// SetClock implements Guest.
func (g ServerGuest) SetClock(context.Context, time.Time) error { return ErrOwnClock }

// Close implements Guest.
func (g ServerGuest) Close() error {
	if g.Closer == nil {
		return nil
	}
	return g.Closer.Close()
}
