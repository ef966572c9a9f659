//go:build linux

package dhcp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// Acquire runs DISCOVER → OFFER → REQUEST → ACK on the interface ifname
// (which must be up) and returns the lease. It retransmits with backoff
// until ctx ends. logf, if not nil, is told of each packet sent and of
// each reply.
func Acquire(ctx context.Context, ifname, hostname string, logf func(format string, args ...any)) (Lease, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		return Lease{}, fmt.Errorf("dhcp on %s: %w", ifname, err)
	}
	began := time.Now()
	conn, err := openPacket(ifc, logf)
	if err != nil {
		return Lease{}, fmt.Errorf("dhcp on %s: %w", ifname, err)
	}
	logf("dhcp %s: socket ready in %s", ifname, time.Since(began).Round(time.Millisecond))
	defer conn.close()

	// Not crypto/rand: getrandom(2) blocks until the kernel's CRNG is
	// seeded, which under TCG is over a second into the boot. A transaction
	// id needs no secrecy.
	xid := rand.Uint32()
	hw := ifc.HardwareAddr

	offer, err := conn.exchange(ctx, NewDiscover(xid, hw, hostname), func(m *Message) bool {
		return m.Type() == Offer
	})
	if err != nil {
		return Lease{}, fmt.Errorf("dhcp on %s: waiting for an offer: %w", ifname, err)
	}
	ack, err := conn.exchange(ctx, NewRequest(offer, hw, hostname), func(m *Message) bool {
		return m.Type() == Ack || m.Type() == Nak
	})
	if err != nil {
		return Lease{}, fmt.Errorf("dhcp on %s: waiting for an ack: %w", ifname, err)
	}
	if ack.Type() == Nak {
		return Lease{}, fmt.Errorf("dhcp on %s: server %s refused the request", ifname, ipOpt(ack.Option(OptServerID)))
	}
	return LeaseFrom(ack)
}

// packetConn is an AF_PACKET datagram socket bound to one interface that
// sends and receives whole IPv4 packets.
type packetConn struct {
	fd   int
	ifc  *net.Interface
	logf func(format string, args ...any)
}

func openPacket(ifc *net.Interface, logf func(string, ...any)) (*packetConn, error) {
	proto := htons(unix.ETH_P_IP)
	// Protocol 0 here and the real one at bind: a socket opened with a
	// protocol is hooked on every interface at once, and bind must then
	// unhook it and wait for an RCU grace period (synchronize_net), which
	// took over a second under TCG.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening packet socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifc.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("binding packet socket: %w", err)
	}
	return &packetConn{fd: fd, ifc: ifc, logf: logf}, nil
}

func (c *packetConn) close() { unix.Close(c.fd) }

func (c *packetConn) send(m *Message) error {
	pkt := wrapUDP(net.IPv4zero, net.IPv4bcast, m.Encode())
	to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: c.ifc.Index, Halen: 6}
	copy(to.Addr[:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	return unix.Sendto(c.fd, pkt, 0, to)
}

// exchange sends m and waits for a reply with the same xid that want
// accepts, resending after 0.25, 0.5, 1, … 8 s: on a VM's virtual network
// the answer comes in milliseconds, and the first packet after link-up is
// sometimes lost.
func (c *packetConn) exchange(ctx context.Context, m *Message, want func(*Message) bool) (*Message, error) {
	buf := make([]byte, 1500)
	wait := 250 * time.Millisecond
	began := time.Now()
	for try := 1; ; try++ {
		if err := c.send(m); err != nil {
			return nil, fmt.Errorf("sending: %w", err)
		}
		c.logf("dhcp %s: sent type %d, try %d", c.ifc.Name, m.Type(), try)
		resend := time.Now().Add(wait)
		for time.Now().Before(resend) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			ms := int(time.Until(resend) / time.Millisecond)
			if ms > 200 {
				ms = 200 // wake up to notice ctx
			}
			fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
			n, err := unix.Poll(fds, ms)
			if err != nil && !errors.Is(err, unix.EINTR) {
				return nil, fmt.Errorf("polling: %w", err)
			}
			if n <= 0 {
				continue
			}
			nr, _, err := unix.Recvfrom(c.fd, buf, unix.MSG_DONTWAIT)
			if err != nil {
				continue
			}
			payload, err := unwrapUDP(buf[:nr], clientPort)
			if err != nil {
				continue
			}
			reply, err := Decode(payload)
			if err != nil || reply.Op != opReply || reply.XID != m.XID {
				continue
			}
			if want(reply) {
				c.logf("dhcp %s: got type %d after %s", c.ifc.Name, reply.Type(), time.Since(began).Round(time.Millisecond))
				return reply, nil
			}
		}
		if wait < 8*time.Second {
			wait *= 2
		}
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
