package machine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/vm"
)

// Status and Running give one error for each way a machine is not there
// to use: it names the machine, says what to run, and matches a sentinel.
func TestStatusAndRunning(t *testing.T) {
	d := &testfakes.Driver{}
	s := newStore(t, d)
	ctx := context.Background()

	st, err := s.Status(ctx, "nosuch")
	if err != nil || st.State != NotCreated || st.Machine != nil || st.DockerHost() != "" {
		t.Fatalf("Status(nosuch) = %+v, %v; want not-created", st, err)
	}
	if s.Exists("nosuch") {
		t.Error("Exists(nosuch) = true")
	}
	_, err = s.Running(ctx, "nosuch")
	if !errors.Is(err, ErrNotExist) || err.Error() != "machine \"nosuch\" does not exist (run `tender init nosuch`)" {
		t.Errorf("Running(nosuch) = %v", err)
	}

	if _, err := s.Init(ctx, "dev", small(t)); err != nil {
		t.Fatal(err)
	}
	if !s.Exists("dev") {
		t.Error("Exists(dev) = false after init")
	}
	_, err = s.Running(ctx, "dev")
	if !errors.Is(err, ErrNotRunning) || errors.Is(err, ErrNotExist) || err.Error() != "machine \"dev\" is stopped (start it with `tender up dev`)" {
		t.Errorf("Running(dev) when stopped = %v", err)
	}
	d.Current = vm.Running
	m, err := s.Running(ctx, "dev")
	if err != nil || m == nil || m.Name != "dev" {
		t.Fatalf("Running(dev) when running = %v, %v", m, err)
	}
	if st, _ := s.Status(ctx, "dev"); st.DockerHost() != m.DockerHost() || st.DockerHost() == "" {
		t.Errorf("DockerHost of a running machine = %q, want %q", st.DockerHost(), m.DockerHost())
	}
}

func TestLive(t *testing.T) {
	for _, st := range []State{NotCreated, Stopped, Starting, Running, Paused, Saved, Aborted} {
		want := st == Running || st == Starting || st == Paused
		if st.Live() != want {
			t.Errorf("%s.Live() = %v, want %v", st, st.Live(), want)
		}
	}
}

// A driver that cannot save does not implement vm.Saver; Save says so by
// its name and with the way out.
func TestSaveWithoutSaver(t *testing.T) {
	s := newStore(t, &testfakes.Driver{Current: vm.Running})
	if _, err := s.Init(context.Background(), "dev", small(t)); err != nil {
		t.Fatal(err)
	}
	err := s.Save(context.Background(), "dev", false)
	if !errors.Is(err, vm.ErrNotSupported) || err.Error() != "save is not supported by the fake driver (use `tender down dev`): "+vm.ErrNotSupported.Error() {
		t.Errorf("Save = %v", err)
	}
}

// savingDriver is a fake that can save, but refuses to (as QEMU refuses a
// machine with a virtiofs share).
type savingDriver struct {
	testfakes.Driver
	saves int
}

func (d *savingDriver) CanSave(vm.Spec) error {
	return errors.New(`machine "dev" shares folders with virtiofs, which QEMU cannot save`)
}

func (d *savingDriver) Save(context.Context, vm.Spec) error { d.saves++; return nil }

// down with down_action save on a machine that cannot be saved shuts it
// down, saying why, before the guest is touched; save itself refuses.
func TestDownSaveFallsBackToShutdown(t *testing.T) {
	d := &savingDriver{Driver: testfakes.Driver{Current: vm.Running, Transitions: true}}
	progress := &bytes.Buffer{}
	s := &Store{
		Home:      t.TempDir(),
		Progress:  progress,
		Drivers:   func(config.Settings) (vm.Driver, error) { return d, nil },
		LookupEnv: func(string) (string, bool) { return "", false },
	}
	l := small(t)
	if err := l.Set(config.KeyDownAction, config.DownSave); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Init(context.Background(), "dev", l); err != nil {
		t.Fatal(err)
	}
	d.Current = vm.Running
	if err := s.Save(context.Background(), "dev", false); err == nil || !strings.Contains(err.Error(), "virtiofs") {
		t.Errorf("Save = %v, want the driver's refusal", err)
	}
	if err := s.Down(context.Background(), "dev"); err != nil {
		t.Fatalf("Down = %v", err)
	}
	if d.saves != 0 || d.Current != vm.Stopped {
		t.Errorf("after Down: %d saves, state %s; want 0 saves, stopped", d.saves, d.Current)
	}
	if !strings.Contains(progress.String(), "virtiofs") || !strings.Contains(progress.String(), "shutting it down instead") {
		t.Errorf("Down said %q, want why it shut down instead", progress.String())
	}
}

// regenerate-certs refuses a saved machine and changes none of its files.
func TestRegenerateCertsRefusesSaved(t *testing.T) {
	d := &testfakes.Driver{}
	s := newStore(t, d)
	m, err := s.Init(context.Background(), "dev", small(t))
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(m.Dir, ServerCert))
	if err != nil {
		t.Fatal(err)
	}
	d.Current = vm.Saved
	err = s.RegenerateCerts(context.Background(), "dev", true)
	if err == nil || !strings.Contains(err.Error(), "is saved") || !strings.Contains(err.Error(), "tender up dev") {
		t.Errorf("RegenerateCerts of a saved machine = %v, want a refusal naming `tender up dev`", err)
	}
	after, _ := os.ReadFile(filepath.Join(m.Dir, ServerCert))
	if !bytes.Equal(before, after) {
		t.Error("the server certificate changed although regenerate-certs refused")
	}
}
