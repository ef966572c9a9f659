// Package portwatch finds the TCP and UDP ports the guest listens on and
// streams their changes as JSON lines, for the host agent to forward them to
// the host's 127.0.0.1.
//
// The host runs `tender-agent watch-ports` over its authenticated SSH
// connection and reads one [Event] a line: the first carries every port
// listening at start, the next ones what was added or removed since. Nothing
// here listens on the network.
//
// This package is imported by the host (the wire types) and the guest, so it
// stays free of host-only imports and of Linux-only calls outside Watch.
package portwatch

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Port is a listening port of the guest.
type Port struct {
	Proto string `json:"proto"` // "tcp" or "udp"
	Port  int    `json:"port"`
}

func (p Port) String() string { return p.Proto + "/" + strconv.Itoa(p.Port) }

// Compare orders ports by protocol, then number.
func Compare(a, b Port) int {
	if c := strings.Compare(a.Proto, b.Proto); c != 0 {
		return c
	}
	return a.Port - b.Port
}

// Event is one line of the stream.
type Event struct {
	Added   []Port `json:"added,omitempty"`
	Removed []Port `json:"removed,omitempty"`
}

// Reserved ports are never reported: the host reaches sshd and dockerd
// through the forwards the VM was started with, and the DHCP client's port
// is not a service.
var Reserved = []Port{{"tcp", 22}, {"tcp", 2376}, {"udp", 68}}

// Socket is one line of /proc/net/{tcp,tcp6,udp,udp6}.
type Socket struct {
	Local      net.IP
	LocalPort  int
	RemotePort int
	State      int // TCP state numbers; UDP sockets report 7 (CLOSE) unless connected
}

// TCP states as /proc/net/tcp prints them.
const (
	stateEstablished = 0x01
	stateClose       = 0x07
	stateListen      = 0x0A
)

// ParseProcNet reads a /proc/net/{tcp,tcp6,udp,udp6} table. Lines it cannot
// read are an error: the format has been stable for decades, so a surprise
// means the wrong file.
func ParseProcNet(r io.Reader) ([]Socket, error) {
	var out []Socket
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			first = false
			if strings.HasPrefix(line, "sl") {
				continue
			}
		}
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			return nil, fmt.Errorf("proc net: short line %q", line)
		}
		ip, port, err := parseAddr(f[1])
		if err != nil {
			return nil, fmt.Errorf("proc net: local address %q: %w", f[1], err)
		}
		_, rport, err := parseAddr(f[2])
		if err != nil {
			return nil, fmt.Errorf("proc net: remote address %q: %w", f[2], err)
		}
		st, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("proc net: state %q: %w", f[3], err)
		}
		out = append(out, Socket{Local: ip, LocalPort: port, RemotePort: rport, State: int(st)})
	}
	return out, sc.Err()
}

// parseAddr reads "0100007F:1F90": the address as the kernel's 32-bit words
// in host (little-endian) byte order, then the port in hex.
func parseAddr(s string) (net.IP, int, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return nil, 0, fmt.Errorf("no port")
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return nil, 0, err
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return nil, 0, fmt.Errorf("bad address")
	}
	ip := make(net.IP, len(raw))
	for w := 0; w < len(raw); w += 4 {
		ip[w], ip[w+1], ip[w+2], ip[w+3] = raw[w+3], raw[w+2], raw[w+1], raw[w]
	}
	return ip, int(port), nil
}

// Listening picks the sockets a host could reach: TCP in LISTEN, and UDP
// sockets bound but not connected, on any address but loopback (a service
// bound to the guest's 127.0.0.1 asked not to be reached from outside).
// Reserved ports are left out.
func Listening(proto string, socks []Socket) []Port {
	var out []Port
	for _, s := range socks {
		if s.Local.IsLoopback() || s.LocalPort == 0 {
			continue
		}
		switch proto {
		case "tcp":
			if s.State != stateListen {
				continue
			}
		case "udp":
			if s.State != stateClose || s.RemotePort != 0 {
				continue
			}
		default:
			continue
		}
		p := Port{proto, s.LocalPort}
		if !slices.Contains(Reserved, p) {
			out = append(out, p)
		}
	}
	return out
}

// Set is a set of ports.
type Set map[Port]bool

// NewSet makes a set of ports; duplicates (a port on IPv4 and IPv6) collapse.
func NewSet(ports ...[]Port) Set {
	s := Set{}
	for _, list := range ports {
		for _, p := range list {
			s[p] = true
		}
	}
	return s
}

// Sorted lists the set's ports in order.
func (s Set) Sorted() []Port {
	out := make([]Port, 0, len(s))
	for p := range s {
		out = append(out, p)
	}
	slices.SortFunc(out, Compare)
	return out
}

// Diff says what changed from old to cur, each list sorted.
func Diff(old, cur Set) Event {
	var ev Event
	for p := range cur {
		if !old[p] {
			ev.Added = append(ev.Added, p)
		}
	}
	for p := range old {
		if !cur[p] {
			ev.Removed = append(ev.Removed, p)
		}
	}
	slices.SortFunc(ev.Added, Compare)
	slices.SortFunc(ev.Removed, Compare)
	return ev
}

// Empty reports whether the event changes nothing.
func (ev Event) Empty() bool { return len(ev.Added) == 0 && len(ev.Removed) == 0 }

// Encode writes ev as one JSON line.
func Encode(w io.Writer, ev Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Decoder reads the stream on the host.
type Decoder struct{ sc *bufio.Scanner }

// NewDecoder reads events from r.
func NewDecoder(r io.Reader) *Decoder {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	return &Decoder{sc: sc}
}

// Next returns the next event; io.EOF at the end of the stream.
func (d *Decoder) Next() (Event, error) {
	for d.sc.Scan() {
		line := strings.TrimSpace(d.sc.Text())
		if line == "" {
			continue
		}
		var ev Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			return Event{}, fmt.Errorf("port events: %q: %w", line, err)
		}
		return ev, nil
	}
	if err := d.sc.Err(); err != nil {
		return Event{}, err
	}
	return Event{}, io.EOF
}
