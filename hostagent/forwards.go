// Package hostagent is the per-machine process `tender up` leaves running on
// the host (`tender hostagent NAME`). Over the machine's SSH connection it
// follows the guest's listening ports and forwards each to the same port on
// the host's 127.0.0.1 through the hypervisor (QEMU hostfwd, VirtualBox
// natpf1), and it keeps the guest's clock within a second of the host's.
//
// What it forwards is kept in PortsFile in the machine directory, for
// `tender ports` and for the next host agent to clean up after this one.
package hostagent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/atomicfile"
)

// Forward states.
const (
	Forwarded = "forwarded"
	Skipped   = "skipped"
)

// Forward is one guest port and what the host agent did with it. The host
// port is always the guest port, on 127.0.0.1.
type Forward struct {
	Proto  string    `json:"proto"`
	Port   int       `json:"port"`
	Status string    `json:"status"`
	Reason string    `json:"reason,omitempty"` // why it was skipped
	Since  time.Time `json:"since"`
}

// HostAddr is where the forward listens on the host.
func (f Forward) HostAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(f.Port)) }

func (f Forward) key() api.Port { return api.Port{Proto: f.Proto, Port: f.Port} }

// Ports is the content of PortsFile.
type Ports struct {
	PID       int       `json:"pid"`
	Connected bool      `json:"connected"` // following the guest's ports right now
	Updated   time.Time `json:"updated"`
	Forwards  []Forward `json:"forwards"`
}

// Table is the host agent's bookkeeping of forwards, by guest port.
type Table map[api.Port]Forward

// Action is a change to make in the hypervisor.
type Action struct {
	Add  bool // false: remove
	Port api.Port
}

// Plan says what to do about an event. On a resync (the first event of a
// new connection, which lists every listening port) everything the table
// holds is removed first unless listed again, and every listed port is
// forwarded afresh: the hypervisor may have lost or kept forwards while no
// one watched. Reserved ports (api.ReservedPorts: sshd and dockerd,
// reached through the VM's own forwards, and the swarm's ports, for the
// machine's peers only) are ignored, whatever the guest reports.
func (t Table) Plan(ev api.PortEvent, resync bool) []Action {
	var out []Action
	added := api.NewPortSet(ev.Added)
	if resync {
		for _, p := range t.sorted() {
			if !added[p] {
				out = append(out, Action{Add: false, Port: p})
			}
		}
	}
	for _, p := range ev.Removed {
		if _, ok := t[p]; ok && !added[p] {
			out = append(out, Action{Add: false, Port: p})
		}
	}
	for _, p := range ev.Added {
		if api.Reserved(p) || !forwardable(p) {
			continue
		}
		if f, ok := t[p]; ok && f.Status == Forwarded && !resync {
			continue
		}
		out = append(out, Action{Add: true, Port: p})
	}
	return out
}

// forwardable is a port the guest may ask to be forwarded: TCP or UDP,
// 1 to 65535. Anything else (a broken or hostile guest's) is ignored.
func forwardable(p api.Port) bool {
	return (p.Proto == "tcp" || p.Proto == "udp") && p.Port >= 1 && p.Port <= 65535
}

func (t Table) sorted() []api.Port {
	var out []api.Port
	for p := range t {
		out = append(out, p)
	}
	slices.SortFunc(out, api.ComparePorts)
	return out
}

// List is the table's forwards in port order.
func (t Table) List() []Forward {
	out := []Forward{}
	for _, p := range t.sorted() {
		out = append(out, t[p])
	}
	return out
}

// CheckHostPort reports whether 127.0.0.1:port can be bound for proto, and
// why not: in use by another program, or privileged.
func CheckHostPort(proto string, port int) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var err error
	switch proto {
	case "tcp":
		var l net.Listener
		if l, err = net.Listen("tcp", addr); err == nil {
			l.Close()
		}
	case "udp":
		var c net.PacketConn
		if c, err = net.ListenPacket("udp", addr); err == nil {
			c.Close()
		}
	default:
		return fmt.Errorf("unknown protocol %q", proto)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("127.0.0.1:%d/%s is in use by another program on the host", port, proto)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("127.0.0.1:%d/%s is a privileged port on the host", port, proto)
	}
	return err
}

// ReadPorts reads a PortsFile; a missing file is no forwards.
func ReadPorts(path string) (Ports, error) {
	var p Ports
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return Ports{}, fmt.Errorf("%s is damaged: %w", path, err)
	}
	return p, nil
}

// WritePorts writes a PortsFile atomically.
func WritePorts(path string, p Ports) error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'), 0o600)
}
