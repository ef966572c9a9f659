// Package machine holds tender's use cases — init, up, down, delete and the
// rest — and the store of machines under TENDER_HOME. It decides the
// lifecycle; drivers (vm/...) do the hypervisor work and provision makes and
// delivers credentials.
package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/vm"
)

// DriverFactory returns the driver for a machine's settings.
type DriverFactory func(s config.Settings) (vm.Driver, error)

// Store is the set of machines under one TENDER_HOME, with what the use
// cases need from the outside world.
type Store struct {
	Home      string
	Progress  io.Writer // progress, warnings and hints (stderr)
	Drivers   DriverFactory
	LookupEnv func(string) (string, bool)
	// Download fetches the image at url into cacheDir and returns its path
	// (iso.Download); init uses it when no image is found. Nil: no download.
	Download func(ctx context.Context, url, cacheDir string) (string, error)
	// HostAgent is the command line that runs tender itself (os.Executable);
	// Up starts `HostAgent... hostagent NAME` detached. Nil: no host agent
	// (tests).
	HostAgent []string
	// ExplainDriver says which driver settings choose and why, for `tender
	// info` (drivers.Reason). Nil: the configured driver's name.
	ExplainDriver func(config.Settings) string
	// SwitchProgram finds tender-net, the switch of networks between
	// machines. Nil: network.FindSwitchProgram.
	SwitchProgram func() (string, error)
	// Confirm asks the user a yes/no question on the terminal, such as
	// whether to pin a server's host key. Nil: there is no one to ask, and
	// what needs an answer is refused with the flag that gives it.
	Confirm func(question string) (bool, error)
}

// ErrNotExist is returned for a machine that has no directory.
var ErrNotExist = errors.New("machine does not exist")

// Machine is one machine as stored, with its effective settings.
type Machine struct {
	Name     string
	Dir      string
	Settings config.Settings
	Runtime  Runtime
	// Network is the machine's NIC on a tender network, nil when it is on
	// none.
	Network *vm.NetworkAttachment
	driver  vm.Driver // unexported: commands reach the driver only through use cases
}

// Dir is the directory of the machine called name.
func (s *Store) Dir(name string) string {
	return filepath.Join(s.Home, MachinesDir, name)
}

// CertPath is DOCKER_CERT_PATH for the machine.
func (m *Machine) CertPath() string { return filepath.Join(m.Dir, ClientCerts) }

// Spec is what the driver needs to run the machine.
func (m *Machine) Spec() vm.Spec {
	sp := vm.Spec{
		Name:       m.Name,
		Dir:        m.Dir,
		ISO:        m.Settings.ISO,
		Disk:       filepath.Join(m.Dir, diskFile(m.driver)),
		CPUs:       m.Settings.CPUs,
		MemoryMiB:  m.Settings.MemoryMiB,
		SSHPort:    m.Runtime.SSHPort,
		DockerPort: m.Runtime.DockerPort,
		SerialLog:  filepath.Join(m.Dir, SerialLog),
		Arch:       m.Settings.Arch,
		Network:    m.Network,
	}
	for i, sh := range m.Settings.Shares {
		sp.Shares = append(sp.Shares, vm.Share{HostPath: sh.Host, Tag: shareTag(i), ReadOnly: sh.ReadOnly})
	}
	return sp
}

// Sources lists the configuration layers for a machine, highest precedence
// first: flags, TENDER_* environment, machine.yaml, config.yaml.
func (s *Store) sources(name string, flags config.Layer) ([]config.Source, error) {
	env, err := config.FromEnv(s.lookupEnv)
	if err != nil {
		return nil, err
	}
	srcs := []config.Source{{Name: "flag", Layer: flags}, {Name: "env", Layer: env}}
	if name != "" {
		mf, err := config.Load(filepath.Join(s.Dir(name), MachineFile))
		if err != nil {
			return nil, fmt.Errorf("%w (fix %s, or remove the machine with `tender delete -f%s`)", err, MachineFile, NameArg(name))
		}
		srcs = append(srcs, config.Source{Name: MachineFile, Layer: mf})
	}
	cf, err := config.Load(filepath.Join(s.Home, ConfigFile))
	if err != nil {
		return nil, err
	}
	return append(srcs, config.Source{Name: ConfigFile, Layer: cf}), nil
}

func (s *Store) lookupEnv(k string) (string, bool) {
	if s.LookupEnv != nil {
		return s.LookupEnv(k)
	}
	return os.LookupEnv(k)
}

// Load reads a machine and resolves its settings; flags override them.
func (s *Store) Load(name string, flags config.Layer) (*Machine, error) {
	if err := config.ValidateName(name); err != nil {
		return nil, err
	}
	dir := s.Dir(name)
	if _, err := os.Stat(filepath.Join(dir, MachineFile)); err != nil {
		return nil, notExistError(name)
	}
	srcs, err := s.sources(name, flags)
	if err != nil {
		return nil, err
	}
	settings, err := config.Resolve(srcs...)
	if err != nil {
		return nil, err
	}
	rt, err := readRuntime(dir)
	if err != nil {
		fmt.Fprintf(s.Progress, "warning: %v\n", err)
	}
	drv, err := s.Drivers(settings)
	if err != nil {
		return nil, err
	}
	m := &Machine{Name: name, Dir: dir, Settings: settings, Runtime: rt, driver: drv}
	if m.Network, err = s.attachment(name); err != nil {
		return nil, err
	}
	return m, nil
}

// List returns the names of every machine, sorted.
func (s *Store) List() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.Home, MachinesDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || config.ValidateName(e.Name()) != nil {
			continue // skips init's temporary directories
		}
		if _, err := os.Stat(filepath.Join(s.Home, MachinesDir, e.Name(), MachineFile)); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// nameArg is " NAME" for commands the user can copy, or "" for the default.
// NameArg is the NAME argument to put after a command in advice ("tender
// up NAME"): none for the default machine. (A global --vm would have to come
// before the command, which urfave/cli requires.)
func NameArg(name string) string {
	if name == DefaultName {
		return ""
	}
	return " " + name
}

// DefaultName is the machine used when none is named.
const DefaultName = "default"

// Settings is the effective configuration of machine name, or of a new
// machine when it does not exist yet.
func (s *Store) Settings(name string) (config.Settings, error) {
	if err := config.ValidateName(name); err != nil {
		return config.Settings{}, err
	}
	existing := ""
	if _, err := os.Stat(filepath.Join(s.Dir(name), MachineFile)); err == nil {
		existing = name
	}
	srcs, err := s.sources(existing, config.Layer{})
	if err != nil {
		return config.Settings{}, err
	}
	return config.Resolve(srcs...)
}

// diskFile is the data disk's name for the machine's driver.
func diskFile(d vm.Driver) string {
	if dc, ok := d.(vm.DiskCreator); ok {
		return dc.DiskFile()
	}
	return DiskFile
}
