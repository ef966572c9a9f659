//go:build linux

package portwatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tenderdev/tender/agent/api"
)

// Tables are the kernel's socket tables Watch reads, by protocol.
var Tables = map[string][]string{
	"tcp": {"/proc/net/tcp", "/proc/net/tcp6"},
	"udp": {"/proc/net/udp", "/proc/net/udp6"},
}

// Scan reads the socket tables once. A missing table (no IPv6) is skipped.
func Scan(tables map[string][]string) (api.PortSet, error) {
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
	return api.NewPortSet(lists...), nil
}

// Interval is how often Watch looks. Reading the four tables costs well
// under a millisecond; a quarter second keeps a new port within the 2 s the
// host promises with room for the forward itself.
const Interval = 250 * time.Millisecond

// Watch writes an event with every listening port, then one for each
// change, until ctx ends or w fails (the host hung up). A line "{}" every
// keepalive tells the host the guest is alive even when nothing changes.
func Watch(ctx context.Context, w io.Writer, tables map[string][]string, interval, keepalive time.Duration) error {
	cur := api.PortSet{}
	first := true
	lastWrite := time.Now()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		next, err := Scan(tables)
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
