//go:build !windows

package netswitch

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	log "github.com/sirupsen/logrus"

	"github.com/tenderdev/tender/atomicfile"
	"github.com/tenderdev/tender/network"
)

// stopWait is how long Run waits for the ports to leave the switch before
// it closes their sockets under them.
const stopWait = 2 * time.Second

// Run serves the network cfg describes until ctx ends, then returns nil.
//
// It binds every member's SwitchSocket (removing a stale socket file
// first; a socket that a live process has bound is an error), connects
// each to the switch, and only then writes cfg.PIDFile with this process's
// pid: the signal that the switch is ready. When it returns it has removed the
// PIDFile and the sockets, those still its own. An error is returned for a
// configuration that is not valid (every problem, errors.Join) or a socket
// that cannot be bound, before anything is left behind.
//
// Logs, the gateway's (gvisor-tap-vsock logs through logrus's standard
// logger) and Run's own, go to logw: Run points logrus's standard logger
// there, so one Run at a time per process.
func Run(ctx context.Context, cfg *network.SwitchConfig, logw io.Writer) error {
	s, err := check(cfg)
	if err != nil {
		return err
	}
	log.SetOutput(logw)
	gw, err := newGateway(s)
	if err != nil {
		return fmt.Errorf("network %q: %w", s.name, err)
	}
	defer gw.close()

	gatewayMAC, _ := net.ParseMAC(GatewayMAC)
	var ports []*port
	defer func() {
		for _, p := range ports {
			p.close()
		}
	}()
	for i, m := range s.members {
		others := [][]byte{gatewayMAC}
		for j, o := range s.members {
			if j != i {
				others = append(others, o.mac)
			}
		}
		p, err := listen(m, others, gatewayMAC)
		if err != nil {
			return fmt.Errorf("network %q: %w", s.name, err)
		}
		ports = append(ports, p)
	}

	serveCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	var wg sync.WaitGroup
	for _, p := range ports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.serve(serveCtx, gw.sw)
		}()
	}
	// From here the switch stops only when ctx ends, however it went.
	stopped := func() {
		stopServing()
		for _, p := range ports {
			p.stop()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(stopWait):
			log.Warnf("network %q: the ports did not stop within %v: closing their sockets", s.name, stopWait)
			for _, p := range ports {
				_ = p.conn.Close()
			}
			<-done
		}
	}

	for _, p := range ports {
		select {
		case <-p.ready:
		case <-ctx.Done():
		}
	}
	if ctx.Err() != nil {
		stopped()
		return nil
	}

	pid := strconv.Itoa(os.Getpid())
	if err := atomicfile.Write(s.pidFile, []byte(pid+"\n"), 0o600); err != nil {
		stopped()
		return fmt.Errorf("network %q: %w", s.name, err)
	}
	defer removeIfOurs(s.pidFile, pid)
	log.Infof("network %q: switch ready, pid %s, gateway %s on %s, %d machines: %s", s.name, pid, s.gateway, s.subnet, len(s.members), machineNames(s.members))

	<-ctx.Done()
	stopped()
	log.Infof("network %q: switch stopped", s.name)
	return nil
}

// removeIfOurs removes the PID file unless another switch has written its
// own pid there since.
func removeIfOurs(path, pid string) {
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == pid {
		_ = os.Remove(path)
	}
}

func machineNames(ms []member) string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.machine
	}
	return strings.Join(names, ", ")
}
