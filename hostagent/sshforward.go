package hostagent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
)

// TunnelForwarder is the Forwarder of a machine that is a server reached
// over SSH (the ssh driver): no hypervisor forwards ports there, so it
// listens on the host's 127.0.0.1 itself and joins each connection to one
// that Dial opens to the server's own loopback, where Docker publishes
// (over SSH: direct-tcpip, as `ssh -L`). SSH carries streams only: UDP
// ports are refused, and the agent lists them as skipped.
type TunnelForwarder struct {
	// Dial opens a TCP connection from the server, to addr there.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	Logf func(format string, args ...any)

	mu        sync.Mutex
	listeners map[int]net.Listener
}

// Forward listens on 127.0.0.1:hostPort for the server's 127.0.0.1:guestPort.
func (f *TunnelForwarder) Forward(ctx context.Context, proto string, hostPort, guestPort int) error {
	if proto != "tcp" {
		return fmt.Errorf("%s ports cannot be forwarded over SSH (only TCP)", proto)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(hostPort)))
	if err != nil {
		return err
	}
	f.mu.Lock()
	if f.listeners == nil {
		f.listeners = map[int]net.Listener{}
	}
	if old := f.listeners[hostPort]; old != nil {
		old.Close()
	}
	f.listeners[hostPort] = l
	f.mu.Unlock()
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(guestPort))
	// The forward lives until Unforward, not as long as the call's ctx.
	go func() {
		err := relay(context.WithoutCancel(ctx), l, "port "+strconv.Itoa(hostPort), func(ctx context.Context) (net.Conn, error) {
			return f.Dial(ctx, target)
		}, nil, f.Logf)
		if err != nil && !errors.Is(err, net.ErrClosed) {
			f.Logf("port %d: %v", hostPort, err)
		}
	}()
	return nil
}

// Unforward closes the listener of hostPort; connections under way run on.
func (f *TunnelForwarder) Unforward(ctx context.Context, proto string, hostPort int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.listeners[hostPort]; l != nil {
		delete(f.listeners, hostPort)
		return l.Close()
	}
	return nil
}

// Close closes every listener.
func (f *TunnelForwarder) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for p, l := range f.listeners {
		l.Close()
		delete(f.listeners, p)
	}
}
