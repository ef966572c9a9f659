package qemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderdev/tender/vm"
)

func savedSpec(t *testing.T) (vm.Spec, Host) {
	t.Helper()
	dir := t.TempDir()
	isoPath := filepath.Join(dir, "tender.iso")
	if err := os.WriteFile(isoPath, []byte("image"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := vm.Spec{Name: "dev", Dir: dir, ISO: isoPath, CPUs: 2, MemoryMiB: 1024, Arch: "amd64",
		Shares: []vm.Share{{HostPath: dir, Tag: "share0"}}}
	return s, Host{GOOS: "linux", GOARCH: "amd64", Accel: TCG}
}

// writeSaved puts a state and its description in s.Dir, as Save leaves them.
func writeSaved(t *testing.T, s vm.Spec, f Fingerprint) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.Dir, StateFile), []byte("QEVM"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeBootFile(s, f); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(s.Dir, BootFile), filepath.Join(s.Dir, StateMetaFile)); err != nil {
		t.Fatal(err)
	}
}

// A saved machine is reported saved without a QEMU, and a state whose
// QEMU, image and devices are as now is handed to QEMU under another name.
func TestIncomingMatchingState(t *testing.T) {
	s, host := savedSpec(t)
	d := &Driver{}
	writeSaved(t, s, fingerprint(s, host, "/bin/true"))
	if st, _ := d.State(t.Context(), s); st != vm.Saved {
		t.Fatalf("State = %s, want saved", st)
	}
	if d.StateSize(s) != 4 {
		t.Errorf("StateSize = %d, want 4", d.StateSize(s))
	}
	uri, path, warning := d.incoming(s, fingerprint(s, host, "/bin/true"))
	if warning != "" || path != filepath.Join(s.Dir, StateLoadingFile) || uri != "exec:cat '"+path+"'" {
		t.Fatalf("incoming = %q, %q, %q", uri, path, warning)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, StateFile)); err == nil {
		t.Error("the state is still under its name while QEMU loads it: a later Start could load it again")
	}
	if st, _ := d.State(t.Context(), s); st != vm.Stopped {
		t.Errorf("State while loading (no QEMU) = %s, want stopped", st)
	}
}

// A compressed stream loads through the filter that wrote it; a tender
// without one discards it with one line.
func TestIncomingCompressed(t *testing.T) {
	s, host := savedSpec(t)
	fp := fingerprint(s, host, "/bin/true")
	saved := fp
	saved.Stream = StreamZstd
	writeSaved(t, s, saved)
	d := &Driver{StreamFilter: []string{"/opt/my tender/tender", "qemu-state"}}
	uri, path, warning := d.incoming(s, fp)
	want := "exec:'/opt/my tender/tender' 'qemu-state' 'decompress' < '" + path + "'"
	if warning != "" || uri != want {
		t.Fatalf("incoming = %q, %q; want %q", uri, warning, want)
	}
	writeSaved(t, s, saved)
	uri, path, warning = (&Driver{}).incoming(s, fp)
	if uri != "" || path != "" || !strings.Contains(warning, "compressed") {
		t.Errorf("without a filter: incoming = %q, %q, %q", uri, path, warning)
	}
}

// A state written for other cpus, memory, image or share type is
// discarded with one line naming what changed.
func TestIncomingChangedMachine(t *testing.T) {
	for name, change := range map[string]func(*vm.Spec, *Host){
		"cpus":   func(s *vm.Spec, _ *Host) { s.CPUs = 4 },
		"memory": func(s *vm.Spec, _ *Host) { s.MemoryMiB = 2048 },
		"image":  func(s *vm.Spec, _ *Host) { os.WriteFile(s.ISO, []byte("upgraded image"), 0o644) },
		"shares": func(_ *vm.Spec, h *Host) { h.Virtiofsd = &Virtiofsd{Path: "/usr/libexec/virtiofsd"}; h.Root = true },
	} {
		t.Run(name, func(t *testing.T) {
			s, host := savedSpec(t)
			d := &Driver{}
			writeSaved(t, s, fingerprint(s, host, "/bin/true"))
			change(&s, &host)
			_, path, warning := d.incoming(s, fingerprint(s, host, "/bin/true"))
			if path != "" || !strings.Contains(warning, name) || strings.Contains(warning, "\n") {
				t.Errorf("incoming = %q, %q; want no path and one line naming %s", path, warning, name)
			}
			if st, _ := d.State(t.Context(), s); st != vm.Stopped {
				t.Errorf("State after the discard = %s, want stopped", st)
			}
		})
	}
}

// A damaged description is discarded too; a missing state is a cold boot
// without a word.
func TestIncomingDamaged(t *testing.T) {
	s, host := savedSpec(t)
	d := &Driver{}
	if _, path, warning := d.incoming(s, fingerprint(s, host, "/bin/true")); path != "" || warning != "" {
		t.Errorf("no state: incoming = %q, %q", path, warning)
	}
	writeSaved(t, s, fingerprint(s, host, "/bin/true"))
	os.WriteFile(filepath.Join(s.Dir, StateMetaFile), []byte("{torn"), 0o600)
	_, path, warning := d.incoming(s, fingerprint(s, host, "/bin/true"))
	if path != "" || !strings.Contains(warning, "damaged") {
		t.Errorf("incoming = %q, %q", path, warning)
	}
	for _, f := range []string{StateFile, StateMetaFile} {
		if _, err := os.Stat(filepath.Join(s.Dir, f)); err == nil {
			t.Errorf("%s is left behind", f)
		}
	}
}

// CanSave refuses, before anything is changed, a machine QEMU runs with a
// virtiofs share or was started without a record of how; 9p is saveable.
func TestCanSave(t *testing.T) {
	s, host := savedSpec(t)
	d := &Driver{}
	if err := d.CanSave(s); err == nil || !strings.Contains(err.Error(), "older tender") {
		t.Errorf("CanSave without a boot record = %v, want the older-tender error", err)
	}
	if err := writeBootFile(s, fingerprint(s, host, "/bin/true")); err != nil {
		t.Fatal(err)
	}
	if err := d.CanSave(s); err != nil {
		t.Errorf("CanSave with a 9p share = %v, want nil", err)
	}
	host.Virtiofsd, host.Root = &Virtiofsd{Path: "/usr/libexec/virtiofsd"}, true
	if err := writeBootFile(s, fingerprint(s, host, "/bin/true")); err != nil {
		t.Fatal(err)
	}
	if err := d.CanSave(s); err == nil || !strings.Contains(err.Error(), "virtiofs") || !strings.Contains(err.Error(), "share_type: 9p") {
		t.Errorf("CanSave with a virtiofs share = %v, want the virtiofs error with its fix", err)
	}
}
