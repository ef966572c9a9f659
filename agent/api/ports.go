package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Port events: the host runs [WatchPorts] over its authenticated SSH
// connection and reads one [PortEvent] a line. The first carries every port
// listening at start, the next ones what was added or removed since; a line
// "{}" every few seconds says the guest is alive. Nothing listens on the
// network for this.

// Port is a listening port of the guest.
type Port struct {
	Proto string `json:"proto"` // "tcp" or "udp"
	Port  int    `json:"port"`
}

func (p Port) String() string { return p.Proto + "/" + strconv.Itoa(p.Port) }

// ComparePorts orders ports by protocol, then number.
func ComparePorts(a, b Port) int {
	if c := strings.Compare(a.Proto, b.Proto); c != 0 {
		return c
	}
	return a.Port - b.Port
}

// PortEvent is one line of the stream.
type PortEvent struct {
	Added   []Port `json:"added,omitempty"`
	Removed []Port `json:"removed,omitempty"`
}

// Empty reports whether the event changes nothing.
func (ev PortEvent) Empty() bool { return len(ev.Added) == 0 && len(ev.Removed) == 0 }

// PortSet is a set of ports.
type PortSet map[Port]bool

// NewPortSet makes a set of ports; duplicates (a port on IPv4 and IPv6)
// collapse.
func NewPortSet(ports ...[]Port) PortSet {
	s := PortSet{}
	for _, list := range ports {
		for _, p := range list {
			s[p] = true
		}
	}
	return s
}

// Sorted lists the set's ports in order.
func (s PortSet) Sorted() []Port {
	out := make([]Port, 0, len(s))
	for p := range s {
		out = append(out, p)
	}
	slices.SortFunc(out, ComparePorts)
	return out
}

// DiffPorts says what changed from old to cur, each list sorted.
func DiffPorts(old, cur PortSet) PortEvent {
	var ev PortEvent
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
	slices.SortFunc(ev.Added, ComparePorts)
	slices.SortFunc(ev.Removed, ComparePorts)
	return ev
}

// EncodePortEvent writes ev as one JSON line.
func EncodePortEvent(w io.Writer, ev PortEvent) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// PortEventDecoder reads the stream on the host.
type PortEventDecoder struct{ sc *bufio.Scanner }

// NewPortEventDecoder reads events from r.
func NewPortEventDecoder(r io.Reader) *PortEventDecoder {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	return &PortEventDecoder{sc: sc}
}

// Next returns the next event; io.EOF at the end of the stream.
func (d *PortEventDecoder) Next() (PortEvent, error) {
	for d.sc.Scan() {
		line := strings.TrimSpace(d.sc.Text())
		if line == "" {
			continue
		}
		var ev PortEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			return PortEvent{}, fmt.Errorf("port events: %q: %w", line, err)
		}
		return ev, nil
	}
	if err := d.sc.Err(); err != nil {
		return PortEvent{}, err
	}
	return PortEvent{}, io.EOF
}
