package machine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tenderdev/tender/atomicfile"
	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/vm"
)

// SetResult says what Set changed and when it takes effect.
type SetResult struct {
	Machine *Machine
	// Changed lists the keys whose value changed, "cpus: 2 → 4".
	Changed []string
	// NextBoot is true when the machine runs (or is saved): the changes
	// apply when it next boots.
	NextBoot bool
}

// SetKeys are the settings Set changes: the machine's size.
var SetKeys = []string{config.KeyCPUs, config.KeyMemory, config.KeyDiskSize}

// Set changes machine name's CPUs, memory and data disk size for good, in
// its machine.yaml (`tender set`, and `tender up --cpus` as in Colima). CPU
// and memory apply at the next boot. A larger disk is grown at the next
// boot, its filesystem with it; a smaller one is refused, and so is any
// disk change while the machine is saved (nothing touches the disk of a
// saved machine). Nothing is written when something is refused.
func (s *Store) Set(ctx context.Context, name string, flags config.Layer) (*SetResult, error) {
	unlock, err := s.lockExisting(ctx, name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	for _, key := range config.Keys() {
		if flags.IsSet(key) && !slices.Contains(SetKeys, key) {
			return nil, fmt.Errorf("set changes %s only, not %s", strings.Join(SetKeys, ", "), key)
		}
	}
	m, err := s.Load(name, config.Layer{})
	if err != nil {
		return nil, err
	}
	if err := refuseServer(m, "set", "is sized by its own hardware"); err != nil {
		return nil, err
	}
	want, err := s.Load(name, flags) // validates the new values, naming the flag
	if err != nil {
		return nil, err
	}
	st, err := m.driver.State(ctx, m.Spec())
	if err != nil {
		return nil, err
	}
	res := &SetResult{Machine: want, NextBoot: st.Live() || st == vm.Saved}
	if flags.DiskSizeMiB != nil {
		if err := s.checkDiskChange(m, want.Settings.DiskSizeMiB, st); err != nil {
			return nil, err
		}
	}
	if flags.CPUs != nil && want.Settings.CPUs != m.Settings.CPUs {
		res.Changed = append(res.Changed, fmt.Sprintf("cpus: %d → %d", m.Settings.CPUs, want.Settings.CPUs))
	}
	if flags.MemoryMiB != nil && want.Settings.MemoryMiB != m.Settings.MemoryMiB {
		res.Changed = append(res.Changed, fmt.Sprintf("memory: %s → %s", config.FormatSize(m.Settings.MemoryMiB), config.FormatSize(want.Settings.MemoryMiB)))
	}
	if have := m.DiskSizeMiB(); flags.DiskSizeMiB != nil && want.Settings.DiskSizeMiB != have {
		res.Changed = append(res.Changed, fmt.Sprintf("disksize: %s → %s", config.FormatSize(have), config.FormatSize(want.Settings.DiskSizeMiB)))
	}
	if len(res.Changed) == 0 {
		return res, nil
	}
	return res, s.recordSettings(m, flags)
}

// checkDiskChange refuses a disk size the machine's disk cannot take.
func (s *Store) checkDiskChange(m *Machine, wantMiB int, st vm.State) error {
	have := m.DiskSizeMiB()
	switch {
	case wantMiB == have:
		return nil
	case wantMiB < have:
		return fmt.Errorf("--disksize %s would shrink the data disk of machine %q (%s), which would lose what is on it: give %s or more; nothing was changed", config.FormatSize(wantMiB), m.Name, config.FormatSize(have), config.FormatSize(have))
	case st == vm.Saved:
		return fmt.Errorf("machine %q is saved, and nothing touches the disk of a saved machine: run `tender up%s` (or `tender down%s` after it) first, then set --disksize; nothing was changed", m.Name, NameArg(m.Name), NameArg(m.Name))
	}
	if _, ok := m.driver.(vm.DiskCreator); ok { // only a raw disk grows
		return fmt.Errorf("the %s driver's data disk cannot grow (VirtualBox resizes only VDI and VHD disks, and tender's is a VMDK); nothing was changed", m.driver.Name())
	}
	return nil
}

// recordSettings writes the keys flags sets into the machine's
// machine.yaml, keeping its other keys.
func (s *Store) recordSettings(m *Machine, flags config.Layer) error {
	path := filepath.Join(m.Dir, MachineFile)
	layer, err := config.Load(path)
	if err != nil {
		return err
	}
	data, err := config.Marshal(config.Merge(config.Source{Name: "flag", Layer: flags}, config.Source{Name: MachineFile, Layer: layer}))
	if err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o600)
}

// DiskSizeMiB is the size of the machine's data disk as it is, which the
// settings say only once the next boot has grown it: what init made or
// the last grow left (state.json), else for a machine made before tender
// recorded it, the raw disk's size, else the settings'.
func (m *Machine) DiskSizeMiB() int {
	if m.Runtime.DiskSizeMiB > 0 {
		return m.Runtime.DiskSizeMiB
	}
	if _, ok := m.driver.(vm.DiskCreator); !ok {
		if fi, err := os.Stat(filepath.Join(m.Dir, DiskFile)); err == nil {
			return int(fi.Size() >> 20)
		}
	}
	return m.Settings.DiskSizeMiB
}

// growDisk makes the data disk as large as the settings say, before a cold
// boot; the guest's agent grows the filesystem when it mounts it. A
// setting smaller than the disk (machine.yaml edited by hand) is not
// followed: the disk keeps its size, with a warning.
func (s *Store) growDisk(m *Machine) error {
	have, want := m.DiskSizeMiB(), m.Settings.DiskSizeMiB
	switch {
	case want == have:
		return nil
	case want < have:
		fmt.Fprintf(s.Progress, "warning: disksize %s of machine %q is smaller than its data disk (%s); the disk keeps its size (a disk never shrinks)\n", config.FormatSize(want), m.Name, config.FormatSize(have))
		return nil
	}
	fmt.Fprintf(s.Progress, "growing the data disk of machine %q from %s to %s…\n", m.Name, config.FormatSize(have), config.FormatSize(want))
	if _, ok := m.driver.(vm.DiskCreator); ok { // only a raw disk grows
		return fmt.Errorf("the %s driver's data disk cannot grow; set disksize back to %s in %s", m.driver.Name(), config.FormatSize(have), MachineFile)
	}
	if err := growRaw(filepath.Join(m.Dir, DiskFile), int64(want)<<20); err != nil {
		return err
	}
	m.Runtime.DiskSizeMiB = want
	return writeRuntime(m.Dir, m.Runtime)
}

// growRaw extends a raw disk image to size bytes; the new part is a hole.
func growRaw(path string, size int64) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("growing the data disk: %w", err)
	}
	if fi.Size() >= size {
		return nil
	}
	if err := os.Truncate(path, size); err != nil {
		return fmt.Errorf("growing the data disk %s: %w", path, err)
	}
	return nil
}
