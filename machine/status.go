package machine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/iso"
	"github.com/tenderdev/tender/vm"
)

// State is a machine's state as its driver reports it: one of the
// constants below. Commands see states through this package only.
type State = vm.State

// The states, as `tender status` prints them.
const (
	NotCreated = vm.NotCreated
	Stopped    = vm.Stopped
	Starting   = vm.Starting
	Running    = vm.Running
	Paused     = vm.Paused
	Saved      = vm.Saved
	Aborted    = vm.Aborted
	// Unreachable: a server (driver ssh) its host agent cannot reach.
	Unreachable = vm.Unreachable
)

// notExistError is the one "does not exist" error: it names the machine,
// says how to make it and matches ErrNotExist (without repeating its text).
func notExistError(name string) error {
	return sentinelError{fmt.Sprintf("machine %q does not exist (run `tender init%s`)", name, NameArg(name)), ErrNotExist}
}

// sentinelError reads msg and matches is.
type sentinelError struct {
	msg string
	is  error
}

func (e sentinelError) Error() string        { return e.msg }
func (e sentinelError) Is(target error) bool { return target == e.is }

// ErrNotRunning is matched by the error of a use case that needs a running
// machine and found it in another state.
var ErrNotRunning = errors.New("machine is not running")

// notRunningError says what state the machine is in and how to start it.
func notRunningError(name string, state State) error {
	return sentinelError{fmt.Sprintf("machine %q is %s (start it with `tender up%s`)", name, state, NameArg(name)), ErrNotRunning}
}

// Exists reports whether machine name has been created (and not deleted).
func (s *Store) Exists(name string) bool {
	if config.ValidateName(name) != nil {
		return false
	}
	_, err := os.Stat(filepath.Join(s.Dir(name), MachineFile))
	return err == nil
}

// Status is a machine's state with the machine itself, when it exists.
type Status struct {
	Name    string
	State   State
	Machine *Machine // nil when State is NotCreated
}

// Status loads machine name and asks its driver for its state. A machine
// that does not exist is NotCreated, not an error. It starts no program
// (shellinit and status call it on every shell start).
func (s *Store) Status(ctx context.Context, name string) (Status, error) {
	m, err := s.Load(name, config.Layer{})
	if errors.Is(err, ErrNotExist) {
		return Status{Name: name, State: NotCreated}, nil
	}
	if err != nil {
		return Status{Name: name}, err
	}
	st, err := m.driver.State(ctx, m.Spec())
	if err != nil {
		return Status{Name: name, Machine: m}, fmt.Errorf("reading the state of machine %q: %w", name, err)
	}
	return Status{Name: name, State: st, Machine: m}, nil
}

// DockerHost is the machine's DOCKER_HOST when it is running, else "".
func (st Status) DockerHost() string {
	if st.State != Running || st.Machine == nil {
		return ""
	}
	return st.Machine.DockerHost()
}

// Running returns the machine when it is running, and otherwise the error
// that says why not and what to do: notExistError or notRunningError.
func (st Status) Running() (*Machine, error) {
	switch {
	case st.State == NotCreated:
		return nil, notExistError(st.Name)
	case st.State != Running:
		return nil, notRunningError(st.Name, st.State)
	}
	return st.Machine, nil
}

// Running loads machine name and insists it is running.
func (s *Store) Running(ctx context.Context, name string) (*Machine, error) {
	st, err := s.Status(ctx, name)
	if err != nil {
		return nil, err
	}
	return st.Running()
}

// Info is what `tender info` prints: settings, state, ports, image, paths
// and the three versions, with advice when they disagree.
type Info struct {
	Name         string `json:"name"`
	State        State  `json:"state"`
	Driver       string `json:"driver"`
	DriverReason string `json:"driver_reason"`
	DockerHost   string `json:"docker_host,omitempty"`
	// Server is a server machine's ssh_host (driver ssh); it has no
	// image, CPUs, memory or disk of tender's (0).
	Server      string            `json:"server,omitempty"`
	SSHPort     int               `json:"ssh_port,omitempty"`
	DockerPort  int               `json:"docker_port,omitempty"`
	ISO         string            `json:"iso"`
	ISOVersion  string            `json:"iso_version,omitempty"`
	CPUs        int               `json:"cpus"`
	MemoryMiB   int               `json:"memory_mib"`
	DiskSizeMiB int               `json:"disk_size_mib"`
	Paths       map[string]string `json:"paths"`
	Networks    []NetworkInfo     `json:"networks"` // the tender networks the machine is on; [] for none
	// SavedBytes is the size of a saved machine's state file (qemu).
	SavedBytes int64    `json:"saved_bytes,omitempty"`
	Runtime    Runtime  `json:"runtime"`
	Versions   Versions `json:"versions"`
	Advice     []string `json:"advice,omitempty"` // version mismatches that matter, with the fix
	// Warnings are problems met on the way (the agent did not say its
	// version); the information is complete without them.
	Warnings []string `json:"-"`
}

// NetworkInfo is the machine's place on one tender network.
type NetworkInfo struct {
	Name    string `json:"name"`
	Address string `json:"address"` // its static lease
	MAC     string `json:"mac"`
}

// Info gathers machine name's Info; cliVersion is this tender's version.
// A running machine's agent is asked for its version over SSH.
func (s *Store) Info(ctx context.Context, name, cliVersion string) (Info, error) {
	st, err := s.Status(ctx, name)
	if err != nil {
		return Info{}, err
	}
	if st.Machine == nil {
		return Info{}, notExistError(name)
	}
	m, state := st.Machine, st.State
	if m.IsServer() { // no image, CPUs, memory or disk of tender's
		info := Info{
			Name: name, State: state, Driver: m.driver.Name(), DriverReason: s.explainDriver(m.Settings),
			Server: m.Settings.SSHHost, SSHPort: m.Settings.SSHPort, DockerPort: m.Runtime.DockerPort,
			Paths: m.Paths(), Networks: []NetworkInfo{}, Runtime: m.Runtime, Versions: Versions{CLI: cliVersion},
		}
		if state == Running {
			info.DockerHost = m.DockerHost()
		}
		return info, nil
	}
	info := Info{
		Name: name, State: state, Driver: m.driver.Name(), DriverReason: s.explainDriver(m.Settings),
		SSHPort: m.Runtime.SSHPort, DockerPort: m.Runtime.DockerPort,
		ISO: m.Settings.ISO, ISOVersion: m.Runtime.ISOVersion,
		CPUs: m.Settings.CPUs, MemoryMiB: m.Settings.MemoryMiB, DiskSizeMiB: m.DiskSizeMiB(),
		Paths:    m.Paths(),
		Networks: []NetworkInfo{},
		Runtime:  m.Runtime,
	}
	if sz, ok := m.driver.(vm.StateSizer); ok && state == Saved {
		info.SavedBytes = sz.StateSize(m.Spec())
	}
	if n := m.Network; n != nil {
		info.Networks = append(info.Networks, NetworkInfo{Name: n.Name, Address: n.Address, MAC: n.MAC})
	}
	if im, err := iso.Open(m.Settings.ISO); err == nil {
		info.ISOVersion = im.Version()
	}
	info.Versions = Versions{CLI: cliVersion, Image: info.ISOVersion}
	if state == Running {
		info.DockerHost = m.DockerHost()
		if v, err := m.AgentVersion(ctx); err == nil {
			info.Versions.Agent = v
		} else {
			info.Warnings = append(info.Warnings, err.Error())
		}
	}
	info.Advice = info.Versions.Advice(name)
	return info, nil
}

// DriverName is the name of the machine's driver ("qemu", "virtualbox").
func (m *Machine) DriverName() string { return m.driver.Name() }

// explainDriver says which driver the settings choose and why.
func (s *Store) explainDriver(settings config.Settings) string {
	if s.ExplainDriver == nil {
		return "driver: " + settings.Driver
	}
	return s.ExplainDriver(settings)
}

// DockerContextName is the docker context of a machine: "tender" for the
// default machine, vm.Name ("tender-NAME", case kept) for the others.
func DockerContextName(name string) string {
	if name == DefaultName {
		return "tender"
	}
	return vm.Name(name)
}
