//go:build linux

package portwatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/tenderdev/tender/agent/api"
)

// Tables are the kernel's socket tables Watch reads, by protocol.
var Tables = map[string][]string{
	"tcp": {"/proc/net/tcp", "/proc/net/tcp6"},
	"udp": {"/proc/net/udp", "/proc/net/udp6"},
}

// Scan reads the socket tables and the ingress ports file once. A missing
// table (no IPv6) is skipped, as is a missing ingress file (not in swarm
// mode, or no ingress file given: ""). Reserved ports are left out of both.
func Scan(tables map[string][]string, ingressFile string) (api.PortSet, error) {
	var lists [][]api.Port
	for proto, files := range tables {
		for _, path := range files {
			f, err := os.Open(path)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			socks, err := ParseProcNet(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			lists = append(lists, Listening(proto, socks))
		}
	}
	ingress, err := readIngressFile(ingressFile)
	if err != nil {
		return nil, err
	}
	return api.NewPortSet(append(lists, ingress)...), nil
}

// readIngressFile reads the ports of an ingress ports file, less the
// reserved ones; none when path is "" or the file does not exist.
func readIngressFile(path string) ([]api.Port, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ports, err := ParseIngressFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return slices.DeleteFunc(ports, api.Reserved), nil
}

// Interval is how often Watch looks. Reading the four tables costs well
// under a millisecond; a quarter second keeps a new port within the 2 s the
// host promises with room for the forward itself.
const Interval = 250 * time.Millisecond

// Watch writes an event with every listening port (Scan's), then one for
// each change, until ctx ends or w fails (the host hung up). A line "{}"
// every keepalive tells the host the guest is alive even when nothing
// changes.
func Watch(ctx context.Context, w io.Writer, tables map[string][]string, ingressFile string, interval, keepalive time.Duration) error {
	cur := api.PortSet{}
	first := true
	lastWrite := time.Now()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		next, err := Scan(tables, ingressFile)
		if err != nil {
			return err
		}
		ev := api.DiffPorts(cur, next)
		if first || !ev.Empty() || time.Since(lastWrite) >= keepalive {
			if err := api.EncodePortEvent(w, ev); err != nil {
				return err
			}
			lastWrite = time.Now()
			first = false
		}
		cur = next
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
