//go:build !windows

package netswitch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containers/gvisor-tap-vsock/pkg/tap"
	"github.com/containers/gvisor-tap-vsock/pkg/types"
	log "github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Socket buffer sizes, gvisor-tap-vsock's for its unixgram transport. Linux
// caps them at net.core.wmem_max and rmem_max without an error.
const (
	sendBuffer    = 1 << 20
	receiveBuffer = 4 << 20
)

// A VM's socket that is full (Linux lets a unix datagram socket queue only
// net.unix.max_dgram_qlen datagrams, 10 by default) is waited for a little,
// so a guest that reads in bursts loses no frames; one that stays full
// (paused, or its guest not reading) costs a single try per frame until it
// takes one again. The wait holds up the whole switch, hence its bound.
const (
	fullFirstWait = 20 * time.Microsecond
	fullMaxWait   = 2 * time.Millisecond
)

// helloType is the EtherType of the frame a port feeds the switch when it
// is accepted (IEEE 802's Local Experimental EtherType 1): from the
// member's MAC to the gateway, which ignores the type. The switch learns the
// member's MAC from it, so frames for a machine reach it after a restart of
// the switch even before the machine has sent anything.
const helloType = 0x88b5

// ethernetHeader is an Ethernet II header's length: destination, source,
// type.
const ethernetHeader = 14

// port is one member's socket, for the whole of Run. The switch holds it
// through sessions, one per Accept.
type port struct {
	m      member
	vm     *net.UnixAddr
	vmAddr unix.Sockaddr
	conn   *net.UnixConn
	raw    syscall.RawConn
	file   os.FileInfo // the socket file this port bound, to remove only that
	// others are the MACs of the gateway and the other members: a frame
	// from this port with one of them as its source is dropped, so a
	// machine cannot take another's frames.
	others [][]byte
	hello  []byte

	stopping atomic.Bool
	// ready is closed once the switch has taken the first hello frame:
	// it knows the member's MAC.
	ready     chan struct{}
	readyOnce sync.Once

	mu      sync.Mutex // the fields below
	current *session
	full    bool  // the last frame was dropped for a full VM socket
	lost    error // why frames to the VM are being dropped (not running), or nil
}

// listen removes a stale socket file at the member's SwitchSocket and binds
// it. A socket file that a live process has bound is left alone: the
// network's switch is already running.
func listen(m member, others [][]byte, gatewayMAC net.HardwareAddr) (*port, error) {
	path := m.switchSocket
	if c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"}); err == nil {
		c.Close()
		return nil, fmt.Errorf("switch socket %s of machine %q is in use by another process: is this network's tender-net already running?", path, m.machine)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing the stale switch socket of machine %q: %w", m.machine, err)
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("switch socket of machine %q: %w", m.machine, err)
	}
	// Our own directory is 0700; the socket itself 0600 as well, whatever
	// the umask.
	if err := os.Chmod(path, 0o600); err != nil {
		conn.Close()
		return nil, fmt.Errorf("switch socket of machine %q: %w", m.machine, err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("switch socket of machine %q: %w", m.machine, err)
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, err
	}
	var sockErr error
	if err := raw.Control(func(fd uintptr) {
		sockErr = errors.Join(
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, sendBuffer),
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, receiveBuffer))
	}); err != nil {
		sockErr = err
	}
	if sockErr != nil {
		log.Warnf("machine %q: socket buffers left at the system's default: %v", m.machine, sockErr)
	}
	hello := make([]byte, 60) // the shortest Ethernet frame, less its FCS
	copy(hello[0:6], gatewayMAC)
	copy(hello[6:12], m.mac)
	hello[12], hello[13] = helloType>>8, helloType&0xff
	return &port{
		m:      m,
		vm:     &net.UnixAddr{Name: m.vmSocket, Net: "unixgram"},
		vmAddr: &unix.SockaddrUnix{Name: m.vmSocket},
		conn:   conn,
		raw:    raw,
		file:   fi,
		others: others,
		hello:  hello,
		ready:  make(chan struct{}),
	}, nil
}

// serve connects the port to the switch until ctx ends. When the switch
// drops the port (it does on an error from the connection), the port is
// connected again.
func (p *port) serve(ctx context.Context, sw *tap.Switch) {
	for ctx.Err() == nil {
		s := &session{p: p, hello: true}
		p.mu.Lock()
		p.current = s
		p.mu.Unlock()
		_ = p.conn.SetReadDeadline(time.Time{}) // a closed session's wake-up
		err := sw.Accept(ctx, s, types.VfkitProtocol)
		if ctx.Err() != nil {
			return
		}
		log.Warnf("machine %q: the switch dropped its port (%v): connecting it again", p.m.machine, err)
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop wakes the session's Read, so that Accept, which looks at its context
// only between frames, returns. ctx must be done.
func (p *port) stop() {
	p.stopping.Store(true)
	_ = p.conn.SetReadDeadline(time.Now())
}

// close closes the socket and removes its file if it is still the one this
// port bound (a later switch may have bound its own).
func (p *port) close() {
	_ = p.conn.Close()
	if fi, err := os.Lstat(p.m.switchSocket); err == nil && os.SameFile(fi, p.file) {
		_ = os.Remove(p.m.switchSocket)
	}
}

// read returns the next frame from the member's VM: datagrams from other
// sockets, runts and frames with another port's source MAC are dropped.
func (p *port) read(b []byte) (int, error) {
	for {
		n, from, err := p.conn.ReadFromUnix(b)
		if err != nil {
			return 0, err
		}
		switch {
		case from == nil || from.Name != p.m.vmSocket:
			log.Debugf("machine %q: dropped a datagram from %v, not its VM", p.m.machine, from)
		case n < ethernetHeader:
			log.Debugf("machine %q: dropped a %d-byte datagram, too short for a frame", p.m.machine, n)
		case !p.validSource(b[6:12]):
			log.Debugf("machine %q: dropped a frame from MAC %s", p.m.machine, net.HardwareAddr(b[6:12]))
		default:
			return n, nil
		}
	}
}

func (p *port) validSource(mac []byte) bool {
	if mac[0]&1 != 0 || bytes.Equal(mac, make([]byte, 6)) {
		return false // a group address or none
	}
	for _, o := range p.others {
		if bytes.Equal(mac, o) {
			return false
		}
	}
	return true
}

// write sends one frame to the member's VM by its socket's path. It never
// fails: a VM that is not running (no socket file: ENOENT; a file nobody
// has bound: ECONNREFUSED), or whose socket stays full, loses the frame, as
// a switch port with nothing plugged in would. An error would make the
// switch drop the port and abandon a broadcast to the members after it.
func (p *port) write(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	wait := fullFirstWait
	var waited time.Duration
	for {
		err := p.sendto(b)
		if err == nil {
			p.full = false
			if p.lost != nil {
				log.Infof("machine %q: its VM takes frames again", p.m.machine)
				p.lost = nil
			}
			return
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if p.stopping.Load() {
			return
		}
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ENOBUFS) {
			if !p.full && waited < fullMaxWait {
				time.Sleep(wait)
				waited += wait
				wait *= 2
				continue
			}
			// Not logged: a guest slower than its peers fills up
			// now and then, and TCP resends.
			p.full = true
			return
		}
		if p.lost == nil || !errors.Is(p.lost, err) {
			log.Infof("machine %q: dropping frames to its VM until it takes them: sendto %s: %v", p.m.machine, p.m.vmSocket, err)
			p.lost = err
		}
		return
	}
}

func (p *port) sendto(b []byte) error {
	var err error
	cerr := p.raw.Write(func(fd uintptr) bool {
		err = unix.Sendto(int(fd), b, 0, p.vmAddr)
		return true // never wait for the poller: full is handled by write
	})
	if cerr != nil {
		return cerr
	}
	return err
}

// session is the net.Conn the switch is given by one Accept of a port.
type session struct {
	p      *port
	hello  bool // the next Read returns the hello frame
	closed atomic.Bool
	once   sync.Once
}

// Read gives the switch the port's frames. The first is the hello frame,
// and so is the one that wakes it when Run stops, so that the switch's loop
// sees its context done and returns without an error.
func (s *session) Read(b []byte) (int, error) {
	if s.hello {
		s.hello = false
		return copy(b, s.p.hello), nil
	}
	// The switch reads again once it has handled the hello frame.
	s.p.readyOnce.Do(func() { close(s.p.ready) })
	for {
		switch {
		case s.p.stopping.Load():
			return copy(b, s.p.hello), nil
		case s.closed.Load():
			return 0, net.ErrClosed
		}
		n, err := s.p.read(b)
		if err == nil {
			return n, nil
		}
		switch {
		case s.p.stopping.Load():
			return copy(b, s.p.hello), nil
		case s.closed.Load():
			return 0, net.ErrClosed
		case errors.Is(err, os.ErrDeadlineExceeded):
			// A deadline left by an earlier session's Close.
			_ = s.p.conn.SetReadDeadline(time.Time{})
			continue
		}
		return 0, err
	}
}

// Write sends a frame to the member's VM; see port.write.
func (s *session) Write(b []byte) (int, error) {
	if s.closed.Load() {
		return 0, net.ErrClosed
	}
	s.p.write(b)
	return len(b), nil
}

// Close ends the session, not the port: the switch calls it when it drops
// the port, and serve connects the port again.
func (s *session) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		s.p.mu.Lock()
		current := s.p.current == s
		s.p.mu.Unlock()
		if current {
			_ = s.p.conn.SetReadDeadline(time.Now())
		}
	})
	return nil
}

func (s *session) LocalAddr() net.Addr  { return s.p.conn.LocalAddr() }
func (s *session) RemoteAddr() net.Addr { return s.p.vm }

// The switch sets no deadlines; a session has none to set.
func (s *session) SetDeadline(time.Time) error      { return errors.ErrUnsupported }
func (s *session) SetReadDeadline(time.Time) error  { return errors.ErrUnsupported }
func (s *session) SetWriteDeadline(time.Time) error { return errors.ErrUnsupported }
