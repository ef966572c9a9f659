//go:build linux

// Package portwatch finds the TCP and UDP ports the guest publishes and
// streams their changes as JSON lines, for the host agent to forward them to
// the host's 127.0.0.1. The ports come from two places: the sockets
// listening in /proc/net/{tcp,tcp6,udp,udp6} (containers' docker run -p,
// through docker-proxy), and api.IngressPortsFile, where the agent lists
// the ports a swarm service publishes in ingress mode, which dockerd DNATs
// without any socket (ParseIngress reads its rules).
//
// The host runs `tender-agent watch-ports` over its authenticated SSH
// connection; the events and their encoding are the contract's (package
// agent/api). Nothing here listens on the network. Guest only.
package portwatch

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/tenderdev/tender/agent/api"
)

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
func Listening(proto string, socks []Socket) []api.Port {
	var out []api.Port
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
		p := api.Port{Proto: proto, Port: s.LocalPort}
		if !api.Reserved(p) {
			out = append(out, p)
		}
	}
	return out
}
