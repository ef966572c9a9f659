package machine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tenderdev/tender/network"
	"github.com/tenderdev/tender/vm"
)

// Networks is the store of networks under the same TENDER_HOME.
func (s *Store) Networks() *network.Store { return &network.Store{Home: s.Home} }

// networkOf names the network machine name is on ("" for none), from the
// machine directory's NetworkFile: one small read, as shellinit and status
// load machines on every shell start.
func (s *Store) networkOf(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(s.Dir(name), NetworkFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// attachment is machine name's NIC on its network, or nil.
func (s *Store) attachment(name string) (*vm.NetworkAttachment, error) {
	netName, err := s.networkOf(name)
	if err != nil || netName == "" {
		return nil, err
	}
	n, err := s.Networks().Load(netName)
	if err != nil {
		return nil, fmt.Errorf("machine %q: %w", name, err)
	}
	return s.Networks().Attachment(n, name, filepath.Join(s.Dir(name), NetSocket))
}

// vmSocket is where machine's hypervisor binds its NIC's socket.
func (s *Store) vmSocket(machine string) string { return filepath.Join(s.Dir(machine), NetSocket) }

// switched reports whether m's NIC on its network goes through tender's
// switch (QEMU) rather than the hypervisor's own network (VirtualBox).
func switched(m *Machine) bool {
	sw, ok := m.driver.(vm.Switched)
	return m.Network != nil && ok && sw.SwitchedNetwork()
}

// ensureSwitch makes the switch of m's network run and serve m, when m's
// driver uses one.
func (s *Store) ensureSwitch(ctx context.Context, m *Machine) error {
	if !switched(m) {
		return nil
	}
	if err := network.Supported(); err != nil {
		return fmt.Errorf("machine %q is on network %q: %w", m.Name, m.Network.Name, err)
	}
	find := s.SwitchProgram
	if find == nil {
		find = func() (string, error) { return network.FindSwitchProgram(s.lookupEnv) }
	}
	prog, err := find()
	if err != nil {
		return fmt.Errorf("machine %q is on network %q: %w", m.Name, m.Network.Name, err)
	}
	return s.Networks().EnsureSwitch(ctx, m.Network.Name, prog, s.vmSocket)
}

// stopSwitchIfIdle stops the switch of network netName when none of its
// machines but except is live: the last `down` on a network stops it.
func (s *Store) stopSwitchIfIdle(ctx context.Context, netName, except string) {
	n, err := s.Networks().Load(netName)
	if err != nil {
		return
	}
	for _, other := range n.Machines() {
		if other == except {
			continue
		}
		if st, err := s.Status(ctx, other); err != nil || st.State.Live() {
			return // live, or unknown: keep the switch
		}
	}
	if err := s.Networks().StopSwitch(ctx, netName); err != nil {
		fmt.Fprintf(s.Progress, "warning: stopping network %q's switch: %v\n", netName, err)
	}
}

// leaveNetwork takes the deleted machine m off its network: its lease goes,
// and the switch stops when no machine on the network is live.
func (s *Store) leaveNetwork(ctx context.Context, m *Machine) error {
	netName, err := s.networkOf(m.Name)
	if err != nil || netName == "" {
		return err
	}
	if err := s.Networks().Leave(ctx, netName, m.Name); err != nil {
		return fmt.Errorf("taking machine %q off network %q: %w", m.Name, netName, err)
	}
	s.stopSwitchIfIdle(ctx, netName, m.Name)
	return nil
}

// joinNetwork gives machine name, being made in dir, its lease on network
// netName (creating the network on first use) and records it in dir. The
// returned undo takes the lease back, and the network too when this made
// it, for an init that fails later.
func (s *Store) joinNetwork(ctx context.Context, name, dir, netName string) (att *vm.NetworkAttachment, undo func(), err error) {
	nets := s.Networks()
	n, _, created, err := nets.Join(ctx, netName, name)
	if err != nil {
		return nil, nil, err
	}
	undo = func() {
		bg := context.WithoutCancel(ctx)
		_ = nets.Leave(bg, netName, name)
		if created {
			_ = nets.Remove(bg, netName)
		}
	}
	if created {
		fmt.Fprintf(s.Progress, "created network %q (%s)\n", netName, n.Subnet)
	}
	att, err = nets.Attachment(n, name, s.vmSocket(name))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, NetworkFile), []byte(netName+"\n"), 0o600)
	}
	if err != nil {
		undo()
		return nil, nil, err
	}
	return att, undo, nil
}
