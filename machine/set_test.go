package machine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/vm"
)

func sizing(t *testing.T, kv ...string) config.Layer {
	t.Helper()
	var l config.Layer
	for i := 0; i < len(kv); i += 2 {
		if err := l.Set(kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
		l.SetWhere(kv[i], "flag --"+kv[i])
	}
	return l
}

// set changes the machine for good (machine.yaml), and what ls and info
// show of the disk is what the disk is: the new size once the next boot
// has grown it. Shrinking, and a disk change of a saved machine, are
// refused with nothing written.
func TestSetSticksAndGrowsTheDiskAtTheNextBoot(t *testing.T) {
	d := &testfakes.Driver{}
	s := newStore(t, d)
	ctx := context.Background()
	if _, err := s.Init(ctx, "dev", small(t)); err != nil {
		t.Fatal(err)
	}
	res, err := s.Set(ctx, "dev", sizing(t, config.KeyCPUs, "3", config.KeyMemory, "3GiB", config.KeyDiskSize, "2GiB"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "cpus: 2 → 3, memory: 2GiB → 3GiB, disksize: 1GiB → 2GiB"; strings.Join(res.Changed, ", ") != want || res.NextBoot {
		t.Errorf("Changed %q, NextBoot %v; want %q, false", res.Changed, res.NextBoot, want)
	}
	m, err := s.Load("dev", config.Layer{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Settings.CPUs != 3 || m.Settings.MemoryMiB != 3072 || m.Settings.Origins[config.KeyCPUs] != MachineFile {
		t.Errorf("after set: cpus %d (from %s), memory %d", m.Settings.CPUs, m.Settings.Origins[config.KeyCPUs], m.Settings.MemoryMiB)
	}
	if m.DiskSizeMiB() != 1024 {
		t.Errorf("before the boot the disk is %d MiB, want the 1024 it has", m.DiskSizeMiB())
	}
	if err := s.growDisk(m); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(m.Dir, DiskFile))
	if err != nil || fi.Size() != 2<<30 {
		t.Fatalf("disk after the grow: %v %v", fi, err)
	}
	if m, _ = s.Load("dev", config.Layer{}); m.DiskSizeMiB() != 2048 {
		t.Errorf("after the grow ls would show %d MiB", m.DiskSizeMiB())
	}

	yaml := func() string {
		b, _ := os.ReadFile(filepath.Join(m.Dir, MachineFile))
		return string(b)
	}
	before := yaml()
	_, err = s.Set(ctx, "dev", sizing(t, config.KeyDiskSize, "1GiB"))
	if err == nil || !strings.Contains(err.Error(), "would shrink the data disk") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("shrinking: %v", err)
	}
	d.Current = vm.Saved
	_, err = s.Set(ctx, "dev", sizing(t, config.KeyDiskSize, "3GiB"))
	if err == nil || !strings.Contains(err.Error(), "is saved") {
		t.Errorf("growing a saved machine's disk: %v", err)
	}
	if yaml() != before {
		t.Error("a refused set changed machine.yaml")
	}
	// cpus of a saved (or running) machine apply at its next boot.
	if res, err := s.Set(ctx, "dev", sizing(t, config.KeyCPUs, "4")); err != nil || !res.NextBoot {
		t.Errorf("set cpus of a saved machine: %v, %+v", err, res)
	}
	if _, err := s.Set(ctx, "dev", sizing(t, config.KeyCPUs, "100")); err == nil || !strings.Contains(err.Error(), "flag --cpus") {
		t.Errorf("set --cpus 100: %v", err)
	}
}

// config.yaml is the defaults for new machines: an existing machine keeps
// what it was made with when config.yaml changes later.
func TestConfigYAMLIsForNewMachinesOnly(t *testing.T) {
	s := newStore(t, &testfakes.Driver{})
	ctx := context.Background()
	if err := os.WriteFile(filepath.Join(s.Home, ConfigFile), []byte("memory: 3GiB\nboot_timeout: 2m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Init(ctx, "old", small(t)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Home, ConfigFile), []byte("memory: 5GiB\ncpus: 6\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := s.Load("old", config.Layer{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Settings.MemoryMiB != 3072 || m.Settings.CPUs != 2 || m.Settings.BootTimeout.Minutes() != 2 {
		t.Errorf("the old machine follows the new config.yaml: memory %d, cpus %d, boot_timeout %s", m.Settings.MemoryMiB, m.Settings.CPUs, m.Settings.BootTimeout)
	}
	if _, err := s.Init(ctx, "new", small(t)); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Load("new", config.Layer{}); m.Settings.MemoryMiB != 5120 || m.Settings.CPUs != 6 {
		t.Errorf("a new machine: memory %d, cpus %d; want config.yaml's", m.Settings.MemoryMiB, m.Settings.CPUs)
	}
}
