package machine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/iso"
	"github.com/tenderdev/tender/provision"
	"github.com/tenderdev/tender/vm"
)

// DownTimeout is how long Down waits for the guest to power off.
const DownTimeout = 30 * time.Second

// loadLocked takes the machine's lock and loads it; the caller unlocks.
func (s *Store) loadLocked(ctx context.Context, name string) (*Machine, func(), error) {
	unlock, err := s.lockExisting(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.Load(name, config.Layer{})
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return m, unlock, nil
}

// Down presses the ACPI power button and waits for the guest to power off.
func (s *Store) Down(ctx context.Context, name string) error {
	unlock, err := s.lockExisting(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := s.Load(name, config.Layer{})
	if err != nil {
		return err
	}
	st, err := m.driver.State(ctx, m.Spec())
	if err != nil {
		return err
	}
	if !st.Live() {
		fmt.Fprintf(s.Progress, "machine %q is already %s\n", name, st)
		return nil
	}
	if m.IsServer() {
		fmt.Fprintf(s.Progress, "stopping tender's forwards to the server %s (the server and its containers keep running)…\n", m.Settings.SSHHost)
		s.stopHostAgent(m)
		return nil
	}
	if m.Settings.DownAction == config.DownSave {
		if _, ok := m.driver.(vm.Saver); ok && st == vm.Running {
			err := s.save(ctx, m, false)
			if err == nil || ctx.Err() != nil {
				return err
			}
			// down is to stop the machine: one that cannot be saved
			// shuts down, and the user learns why.
			fmt.Fprintf(s.Progress, "warning: %v; shutting it down instead (down_action: save)\n", err)
		}
	}
	fmt.Fprintf(s.Progress, "stopping machine %q…\n", name)
	s.stopHostAgent(m)
	if err := m.driver.Stop(ctx, m.Spec(), false); err != nil {
		return err
	}
	deadline := time.Now().Add(DownTimeout)
	for time.Now().Before(deadline) {
		st, err := m.driver.State(ctx, m.Spec())
		if err != nil {
			return err
		}
		if !st.Live() {
			if m.Network != nil {
				s.stopSwitchIfIdle(ctx, m.Network.Name, m.Name)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("machine %q is still running %s after the power button; run `tender poweroff%s` to stop it hard", name, DownTimeout, NameArg(name))
}

// Poweroff stops the VM at once.
func (s *Store) Poweroff(ctx context.Context, name string) error {
	m, unlock, err := s.loadLocked(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	if err := refuseServer(m, "poweroff", "tender never stops (use `tender down"+NameArg(name)+"` to stop its forwards)"); err != nil {
		return err
	}
	fmt.Fprintf(s.Progress, "warning: powering off %q without a shutdown; data the guest has not synced may be lost\n", name)
	s.stopHostAgent(m)
	if err := m.driver.Stop(ctx, m.Spec(), true); err != nil {
		return err
	}
	if m.Network != nil {
		s.stopSwitchIfIdle(ctx, m.Network.Name, m.Name)
	}
	return nil
}

// Reset hard-reboots the VM.
func (s *Store) Reset(ctx context.Context, name string) error {
	m, unlock, err := s.loadLocked(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	if err := refuseServer(m, "reset", "tender never reboots"); err != nil {
		return err
	}
	r, ok := m.driver.(vm.Resetter)
	if !ok {
		return fmt.Errorf("reset is not supported by the %s driver: %w", m.driver.Name(), vm.ErrNotSupported)
	}
	return r.Reset(ctx, m.Spec())
}

// Save suspends the VM to disk where the driver can: the guest first
// releases what a save cannot keep (its shared folders: see api.Suspend;
// with force, the containers that bind-mount one are stopped), then the
// driver saves it. When the save fails the guest gets its shares back and
// runs on, with its host agent.
func (s *Store) Save(ctx context.Context, name string, force bool) error {
	m, unlock, err := s.loadLocked(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return s.save(ctx, m, force)
}

func (s *Store) save(ctx context.Context, m *Machine, force bool) error {
	if err := refuseServer(m, "save", "has no VM memory for tender to keep (use `tender down"+NameArg(m.Name)+"` to stop its forwards)"); err != nil {
		return err
	}
	sv, ok := m.driver.(vm.Saver)
	if !ok {
		return fmt.Errorf("save is not supported by the %s driver (use `tender down%s`): %w", m.driver.Name(), NameArg(m.Name), vm.ErrNotSupported)
	}
	st, err := m.driver.State(ctx, m.Spec())
	if err != nil {
		return err
	}
	if st == vm.Saved {
		fmt.Fprintf(s.Progress, "machine %q is already saved\n", m.Name)
		return nil
	}
	if st != vm.Running {
		return fmt.Errorf("machine %q is %s; only a running machine can be saved: %w", m.Name, st, vm.ErrNotRunning)
	}
	if err := sv.CanSave(m.Spec()); err != nil {
		return err
	}
	fmt.Fprintf(s.Progress, "saving machine %q…\n", m.Name)
	began := time.Now()
	conn, err := m.Dial(ctx)
	if err != nil {
		return fmt.Errorf("connecting to the guest to ready it for the save: %w", err)
	}
	out, err := conn.Agent(ctx, api.Suspend(force))
	conn.Close()
	if len(out) > 0 {
		s.Progress.Write(out)
	}
	if err != nil {
		return fmt.Errorf("machine %q was not saved: %w", m.Name, err)
	}
	s.stopHostAgent(m)
	if err := sv.Save(ctx, m.Spec()); err != nil {
		s.resumeGuest(context.WithoutCancel(ctx), m)
		s.ensureHostAgent(m)
		return fmt.Errorf("machine %q was not saved and runs on: %w", m.Name, err)
	}
	if m.Network != nil {
		s.stopSwitchIfIdle(ctx, m.Network.Name, m.Name)
	}
	size := ""
	if sz, ok := m.driver.(vm.StateSizer); ok {
		size = fmt.Sprintf(", %d MiB", sz.StateSize(m.Spec())>>20)
	}
	fmt.Fprintf(s.Progress, "saved machine %q in %.1fs%s; `tender up%s` resumes it\n", m.Name, time.Since(began).Seconds(), size, NameArg(m.Name))
	return nil
}

// resumeGuest mounts the guest's shares again (after a resume, or a save
// that did not happen) over a connection of its own.
func (s *Store) resumeGuest(ctx context.Context, m *Machine) {
	if len(m.Settings.Shares) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := m.Dial(ctx)
	if err != nil {
		fmt.Fprintf(s.Progress, "warning: mounting the shared folders again: %v\n", err)
		return
	}
	defer conn.Close()
	s.remountShares(ctx, m, conn)
}

// remountShares asks the guest agent to mount the shares that are not
// mounted; a failure is a warning.
func (s *Store) remountShares(ctx context.Context, m *Machine, conn *provision.Client) {
	if len(m.Settings.Shares) == 0 {
		return
	}
	if _, err := conn.Agent(ctx, api.Resume()); err != nil {
		fmt.Fprintf(s.Progress, "warning: mounting the shared folders again: %v\n", err)
	}
}

// deleteHalfMade removes a machine directory that holds no machine, so
// that init can make one there.
func (s *Store) deleteHalfMade(ctx context.Context, name string) error {
	unlock, err := s.lock(ctx, name)
	if err != nil {
		return err
	}
	if !s.HalfMade(name) {
		// An init that held the lock made it whole meanwhile: delete it
		// as a machine.
		unlock()
		return s.Delete(ctx, name)
	}
	defer unlock()
	dir := s.Dir(name)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the half-made machine directory %s: %w", dir, err)
	}
	fmt.Fprintf(s.Progress, "removed %s, which held no machine (no %s)\n", dir, MachineFile)
	return nil
}

// HalfMade reports whether machine name has a directory but no
// machine.yaml (see halfMade): delete removes it.
func (s *Store) HalfMade(name string) bool {
	dir := s.Dir(name)
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir() && halfMade(dir)
}

// Delete stops the VM, removes it from the hypervisor and removes the
// machine directory. The CA stays.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := config.ValidateName(name); err != nil {
		return err
	}
	if s.HalfMade(name) {
		return s.deleteHalfMade(ctx, name)
	}
	unlock, err := s.lockExisting(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := s.Load(name, config.Layer{})
	if err != nil && !errors.Is(err, ErrNotExist) {
		// A damaged machine.yaml or config.yaml must not keep a machine
		// from being deleted: use the driver that state.json names.
		if m, err = s.loadDamaged(name, err); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	// Out of its swarm first, while it may still answer: the manager's
	// `docker node ls` must not keep a machine that is gone.
	if err := s.swarmLeave(ctx, m, true); err != nil {
		fmt.Fprintf(s.Progress, "warning: %v\n", err)
	}
	s.stopHostAgent(m)
	if st, err := m.driver.State(ctx, m.Spec()); err == nil && st != vm.Stopped && st != vm.NotCreated && st != vm.Aborted {
		if err := m.driver.Stop(ctx, m.Spec(), true); err != nil {
			return err
		}
	}
	if err := m.driver.Delete(ctx, m.Spec()); err != nil && !errors.Is(err, vm.ErrNotFound) {
		return err
	}
	if err := s.leaveNetwork(ctx, m); err != nil {
		return err
	}
	// Rename first so a half-finished removal never looks like a machine.
	trash := filepath.Join(filepath.Dir(m.Dir), ".delete-"+name+"-"+fmt.Sprint(time.Now().UnixNano()))
	if err := os.Rename(m.Dir, trash); err != nil {
		return fmt.Errorf("removing %s: %w", m.Dir, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return err
	}
	s.dropImageIfUnused(m.Settings.ISO)
	return nil
}

// dropImageIfUnused removes tender's copy of an image (iso.Keep) that no
// machine boots any more. One whose machines cannot all be read is kept.
func (s *Store) dropImageIfUnused(path string) {
	if filepath.Dir(path) != filepath.Join(s.Home, CacheDir, iso.ImagesDir) {
		return
	}
	names, err := s.List()
	if err != nil {
		return
	}
	for _, name := range names {
		m, err := s.Load(name, config.Layer{})
		if err != nil || m.Settings.ISO == path {
			return
		}
	}
	os.Remove(path)
}

// loadDamaged builds a machine whose settings cannot be read from builtin
// defaults and state.json, for Delete.
func (s *Store) loadDamaged(name string, loadErr error) (*Machine, error) {
	dir := s.Dir(name)
	rt, _ := readRuntime(dir)
	settings := config.Defaults(config.CurrentHost())
	if rt.Driver != "" {
		settings.Driver = rt.Driver
	}
	drv, err := s.Drivers(settings)
	if err != nil {
		return nil, fmt.Errorf("%w (and no driver to stop the VM: %v)", loadErr, err)
	}
	fmt.Fprintf(s.Progress, "warning: %v; deleting with the %s driver\n", loadErr, drv.Name())
	return &Machine{Name: name, Dir: dir, Settings: settings, Runtime: rt, driver: drv}, nil
}

// RegenerateCerts issues a new server cert (and with client, new client
// certs), copies the server side to the running guest and restarts dockerd.
func (s *Store) RegenerateCerts(ctx context.Context, name string, client bool) error {
	unlock, err := s.lockExisting(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := s.Load(name, config.Layer{})
	if err != nil {
		return err
	}
	st, err := m.driver.State(ctx, m.Spec())
	if err != nil {
		return err
	}
	if st == vm.Saved {
		// The resumed dockerd would still serve the old certificate, and
		// installing the new one restarts it under the saved containers.
		return fmt.Errorf("machine %q is saved; its certificates cannot change until it runs (run `tender up%s` first, then regenerate-certs); nothing was changed", name, NameArg(name))
	}
	ca, err := s.loadOrCreateCA()
	if err != nil {
		return err
	}
	// A running guest is reached before anything is written, so that a
	// failure leaves the certificates as they were. A server's are all on
	// the host: its host agent serves them.
	var conn *provision.Client
	if st == vm.Running && !m.IsServer() {
		if conn, err = m.Dial(ctx); err != nil {
			return fmt.Errorf("connecting to the guest to install the new certificates: %w", err)
		}
		defer conn.Close()
	}
	server, err := writeCerts(m.Dir, name, ca, client)
	if err != nil {
		return err
	}
	switch {
	case m.IsServer():
		if st.Live() { // its host agent serves the new ones from its next start
			s.stopHostAgent(m)
			s.ensureHostAgent(m)
		}
		return nil
	case conn == nil:
		fmt.Fprintf(s.Progress, "machine %q is not running; `tender up` will install the new certificates\n", name)
		return nil
	}
	if err := provision.InstallServerCerts(ctx, conn, ca.CertPEM, server.CertPEM, server.KeyPEM); err != nil {
		return err
	}
	return m.pingDockerUntil(ctx, time.Minute)
}

func (m *Machine) pingDockerUntil(ctx context.Context, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		err := m.pingDocker(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("docker did not answer after the certificates changed: %w", err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
