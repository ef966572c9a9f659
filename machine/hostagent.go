package machine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tenderdev/tender/atomicfile"
	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/hostagent"
	"github.com/tenderdev/tender/runner"
	"github.com/tenderdev/tender/vm"
)

// ensureHostAgent starts the machine's host agent unless one runs. It is
// called by Up, so an agent that died (or was killed) comes back with the
// next `tender up`. Failing to start it is a warning: Docker works without.
func (s *Store) ensureHostAgent(m *Machine) {
	if len(s.HostAgent) == 0 {
		return
	}
	if pid := readPID(filepath.Join(m.Dir, HostAgentPID)); hostagent.Alive(pid, m.Name) {
		return
	}
	args := append(append([]string{}, s.HostAgent[1:]...), "hostagent", m.Name)
	rotateLog(filepath.Join(m.Dir, HostAgentLog), LogCap)
	pid, err := runner.StartDetached(filepath.Join(m.Dir, HostAgentLog), s.HostAgent[0], args...)
	if err != nil {
		fmt.Fprintf(s.Progress, "warning: published ports and the clock will not follow the guest: %v\n", err)
		return
	}
	if err := atomicfile.Write(filepath.Join(m.Dir, HostAgentPID), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		fmt.Fprintf(s.Progress, "warning: %v\n", err)
	}
}

// stopHostAgent stops the machine's host agent, if one runs, and forgets
// its forwards (they go with the VM).
func (s *Store) stopHostAgent(m *Machine) {
	pidFile := filepath.Join(m.Dir, HostAgentPID)
	pid := readPID(pidFile)
	if hostagent.Alive(pid, m.Name) {
		_ = hostagent.Terminate(pid)
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && hostagent.Alive(pid, m.Name); {
			time.Sleep(50 * time.Millisecond)
		}
	}
	os.Remove(pidFile)
	os.Remove(filepath.Join(m.Dir, PortsFile))
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// RunHostAgent is `tender hostagent NAME`: it forwards the guest's
// listening ports to 127.0.0.1 and keeps the guest's clock, logging to
// logw, until ctx ends or the machine stops.
func (s *Store) RunHostAgent(ctx context.Context, name string, logw io.Writer) error {
	m, err := s.Load(name, config.Layer{})
	if err != nil {
		return err
	}
	logger := log.New(logw, "", log.LstdFlags|log.Lmicroseconds)
	pidFile := filepath.Join(m.Dir, HostAgentPID)
	if pid := readPID(pidFile); pid != os.Getpid() && hostagent.Alive(pid, name) {
		return fmt.Errorf("the host agent of machine %q already runs (pid %d)", name, pid)
	}
	if err := atomicfile.Write(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return err
	}
	defer func() {
		if readPID(pidFile) == os.Getpid() { // not a newer agent's
			os.Remove(pidFile)
		}
	}()
	if m.IsServer() {
		logger.Printf("host agent for machine %q, the server %s (pid %d)", name, m.Settings.SSHHost, os.Getpid())
		return s.runServerAgent(ctx, m, logger.Printf)
	}
	fw, ok := m.driver.(vm.Forwarder)
	if !ok {
		logger.Printf("the %s driver cannot forward ports; only the clock is kept", m.driver.Name())
	}
	spec := m.Spec()
	logger.Printf("host agent for machine %q (pid %d)", name, os.Getpid())
	a := &hostagent.Agent{
		Connect: func(ctx context.Context) (hostagent.Guest, error) {
			dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			c, err := m.Dial(dctx)
			if err != nil {
				return nil, err
			}
			return hostagent.SSHGuest{C: c}, nil
		},
		Forwarder: specForwarder{fw, spec},
		Running: func(ctx context.Context) bool {
			st, err := m.driver.State(ctx, spec)
			return err == nil && st.Live()
		},
		PortsFile: filepath.Join(m.Dir, PortsFile),
		Logf:      logger.Printf,
	}
	if runtime.GOOS != "windows" {
		go func() {
			if err := hostagent.ServeSocket(ctx, m.SocketPath(), m.dialDocker, logger.Printf); err != nil {
				logger.Printf("docker.sock: %v", err)
			}
		}()
	}
	if switched(m) {
		go s.keepSwitch(ctx, m, logger.Printf)
	}
	return a.Run(ctx)
}

// switchCheckInterval is how often the host agent checks that its
// network's switch runs.
const switchCheckInterval = 2 * time.Second

// keepSwitch brings the switch of m's network back when it dies while m
// runs (killed, or crashed): the machines' NICs are datagram sockets, so
// traffic between them resumes as soon as a new switch binds its sockets,
// without a reboot. Every running machine's host agent watches; the
// network's lock makes one of them start it.
func (s *Store) keepSwitch(ctx context.Context, m *Machine, logf func(string, ...any)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(switchCheckInterval):
		}
		if s.Networks().SwitchPID(m.Network.Name) != 0 {
			continue
		}
		if err := s.ensureSwitch(ctx, m); err != nil {
			logf("network %q: restarting its switch: %v", m.Network.Name, err)
		} else {
			logf("network %q: its switch had stopped; started it again", m.Network.Name)
		}
	}
}

// SocketPath is the machine's docker.sock, which the host agent serves.
func (m *Machine) SocketPath() string { return filepath.Join(m.Dir, DockerSocket) }

// dialDocker opens a TLS connection to the guest's Docker with the
// machine's client certificate, checking that the guest serves this
// machine's server certificate (as pingDocker does).
func (m *Machine) dialDocker(ctx context.Context) (net.Conn, error) {
	conf, err := m.dockerTLS()
	if err != nil {
		return nil, err
	}
	d := tls.Dialer{Config: conf, NetDialer: &net.Dialer{Timeout: 10 * time.Second}}
	return d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(m.Runtime.DockerPort)))
}

// specForwarder binds a driver's Forwarder to one machine.
type specForwarder struct {
	f    vm.Forwarder
	spec vm.Spec
}

func (sf specForwarder) Forward(ctx context.Context, proto string, hostPort, guestPort int) error {
	if sf.f == nil {
		return fmt.Errorf("forwarding is not supported by this driver: %w", vm.ErrNotSupported)
	}
	return sf.f.Forward(ctx, sf.spec, proto, hostPort, guestPort)
}

func (sf specForwarder) Unforward(ctx context.Context, proto string, hostPort int) error {
	if sf.f == nil {
		return nil
	}
	return sf.f.Unforward(ctx, sf.spec, proto, hostPort)
}

// PortsResult is what `tender ports` shows.
type PortsResult struct {
	AgentRunning bool
	Connected    bool
	Forwards     []hostagent.Forward
}

// Ports lists the machine's published ports as its host agent keeps them.
// It reads files only.
func (s *Store) Ports(name string) (*PortsResult, error) {
	m, err := s.Load(name, config.Layer{})
	if err != nil {
		return nil, err
	}
	p, err := hostagent.ReadPorts(filepath.Join(m.Dir, PortsFile))
	if err != nil {
		return nil, err
	}
	// Never nil: `ports --format json` prints [] for none, not null.
	res := &PortsResult{Forwards: append([]hostagent.Forward{}, p.Forwards...)}
	res.AgentRunning = hostagent.Alive(readPID(filepath.Join(m.Dir, HostAgentPID)), name)
	res.Connected = res.AgentRunning && p.Connected
	if !res.AgentRunning {
		res.Forwards = []hostagent.Forward{}
	}
	return res, nil
}

// existingShares drops shares whose host folder is missing (QEMU would not
// start), with a warning.
func (s *Store) existingShares(shares []vm.Share) []vm.Share {
	var out []vm.Share
	for _, sh := range shares {
		if fi, err := os.Stat(sh.HostPath); err != nil || !fi.IsDir() {
			if err == nil {
				err = errors.New("not a directory")
			}
			fmt.Fprintf(s.Progress, "warning: not sharing %s: %v\n", sh.HostPath, err)
			continue
		}
		out = append(out, sh)
	}
	return out
}
