package network

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tenderdev/tender/runner"
	"github.com/tenderdev/tender/vm"
)

// SwitchProgram is the switch's executable name (cmd/tender-net).
const SwitchProgram = "tender-net"

// switchStartTimeout bounds the wait for a started switch's pid file.
const switchStartTimeout = 15 * time.Second

// FindSwitchProgram finds tender-net: TENDER_NET when set, else beside the
// running tender (releases and Homebrew install them together), else on
// PATH.
func FindSwitchProgram(lookupEnv func(string) (string, bool)) (string, error) {
	if p, ok := lookupEnv("TENDER_NET"); ok && p != "" {
		return p, nil
	}
	name := SwitchProgram
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s, the network switch, is not installed beside tender nor on PATH: build it with `make build` (bin/%s) or reinstall tender", SwitchProgram, SwitchProgram)
}

// SwitchSocket is the socket the switch of network n binds for machine.
func (s *Store) SwitchSocket(network, machine string) string {
	return filepath.Join(s.Dir(network), machine+".sock")
}

// Attachment is machine's NIC on network n, for the driver; vmSocket is
// the socket its hypervisor binds.
func (s *Store) Attachment(n *Network, machine, vmSocket string) (*vm.NetworkAttachment, error) {
	l := n.Lease(machine)
	if l == nil {
		return nil, fmt.Errorf("machine %q has no lease on network %q", machine, n.Name)
	}
	a := &vm.NetworkAttachment{Name: n.Name, MAC: l.MAC, Address: l.Address, Subnet: n.Subnet, VMSocket: vmSocket, SwitchSocket: s.SwitchSocket(n.Name, machine)}
	for _, p := range []string{a.VMSocket, a.SwitchSocket} {
		if len(p) > vm.MaxSocketPath {
			return nil, fmt.Errorf("the socket path %s is %d bytes, more than the %d a unix socket may have: use a shorter TENDER_HOME or machine name", p, len(p), vm.MaxSocketPath)
		}
	}
	return a, nil
}

// switchConfig is what network n's switch must serve: every machine with a
// lease, each with the socket its hypervisor binds (vmSocket).
func (s *Store) switchConfig(n *Network, vmSocket func(machine string) string) *SwitchConfig {
	c := &SwitchConfig{
		Name: n.Name, Subnet: n.Subnet, Gateway: n.Gateway, Domain: Domain, MTU: MTU,
		PIDFile: filepath.Join(s.Dir(n.Name), SwitchPIDFile),
	}
	for _, l := range n.Leases {
		c.Members = append(c.Members, Member{
			Machine: l.Machine, MAC: l.MAC, Address: l.Address,
			VMSocket: vmSocket(l.Machine), SwitchSocket: s.SwitchSocket(n.Name, l.Machine),
		})
	}
	return c
}

// SwitchPID returns the pid of network name's running switch, or 0.
func (s *Store) SwitchPID(name string) int {
	b, err := os.ReadFile(filepath.Join(s.Dir(name), SwitchPIDFile))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if !switchAlive(pid) {
		return 0
	}
	return pid
}

// EnsureSwitch makes network name's switch run and serve every machine
// with a lease: it starts one when none runs (the first `up` on the
// network, or a switch that was killed) and restarts one that serves other
// members (a machine joined or left). The machines ride out a restart:
// their frames are datagrams, with no connection to re-establish.
func (s *Store) EnsureSwitch(ctx context.Context, name, program string, vmSocket func(machine string) string) error {
	n, unlock, err := s.loadLocked(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	want, err := json.MarshalIndent(s.switchConfig(n, vmSocket), "", "  ")
	if err != nil {
		return err
	}
	want = append(want, '\n')
	cfgPath := filepath.Join(s.Dir(name), SwitchConfigFile)
	if pid := s.SwitchPID(name); pid != 0 {
		if have, err := os.ReadFile(cfgPath); err == nil && bytes.Equal(have, want) {
			return nil
		}
		s.stopSwitch(n)
	}
	cfg := s.switchConfig(n, vmSocket)
	if err := WriteSwitchConfig(cfgPath, cfg); err != nil {
		return err
	}
	os.Remove(cfg.PIDFile)
	logPath := filepath.Join(s.Dir(name), SwitchLog)
	pid, err := runner.StartDetached(logPath, program, "--config", cfgPath)
	if err != nil {
		return fmt.Errorf("network %q: %w", name, err)
	}
	for deadline := time.Now().Add(switchStartTimeout); ; {
		if s.SwitchPID(name) == pid {
			return nil
		}
		if exited(pid) || time.Now().After(deadline) || ctx.Err() != nil {
			terminate(pid, true)
			return fmt.Errorf("network %q: the switch (%s) did not start: %s (its log: %s)", name, SwitchProgram, lastLine(logPath), logPath)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StopSwitch stops network name's switch, if it runs.
func (s *Store) StopSwitch(ctx context.Context, name string) error {
	n, unlock, err := s.loadLocked(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	s.stopSwitch(n)
	return nil
}

// stopSwitch is StopSwitch under the lock: SIGTERM, and SIGKILL when the
// switch has not gone 3 s later.
func (s *Store) stopSwitch(n *Network) {
	pid := s.SwitchPID(n.Name)
	if pid == 0 {
		return
	}
	terminate(pid, false)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !switchAlive(pid) {
			break
		}
	}
	if switchAlive(pid) {
		terminate(pid, true)
	}
	os.Remove(filepath.Join(s.Dir(n.Name), SwitchPIDFile))
}

// lastLine is the last non-empty line of the file at path, for errors.
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	return "it exited without a word"
}
