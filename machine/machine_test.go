package machine

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/vm"
)

func newStore(t *testing.T, d *testfakes.Driver) *Store {
	t.Helper()
	return &Store{
		Home:      t.TempDir(),
		Progress:  &bytes.Buffer{},
		Drivers:   func(config.Settings) (vm.Driver, error) { return d, nil },
		LookupEnv: func(string) (string, bool) { return "", false },
	}
}

func small(t *testing.T) config.Layer {
	var l config.Layer
	if err := l.Set(config.KeyDiskSize, "1GiB"); err != nil {
		t.Fatal(err)
	}
	iso := testfakes.TempISO(t, "tender-v9.9.9")
	l.ISO = &iso
	return l
}

func TestInitMakesACompleteMachine(t *testing.T) {
	d := &testfakes.Driver{}
	s := newStore(t, d)
	m, err := s.Init(context.Background(), "dev", small(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		perm os.FileMode
	}{
		{SSHKey, 0o600}, {GuestHostPrivKey, 0o600}, {ServerKey, 0o600},
		{filepath.Join(ClientCerts, ClientKey), 0o600}, {DiskFile, 0o600}, {MachineFile, 0o600},
	} {
		st, err := os.Stat(filepath.Join(m.Dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != f.perm {
			t.Errorf("%s has mode %v, want %v", f.name, st.Mode().Perm(), f.perm)
		}
	}
	if st, _ := os.Stat(m.Dir); st.Mode().Perm() != 0o700 {
		t.Errorf("machine dir mode %v, want 0700", st.Mode().Perm())
	}
	if st, _ := os.Stat(filepath.Join(s.Home, CADir, CAKeyFile)); st.Mode().Perm() != 0o600 {
		t.Errorf("CA key mode %v, want 0600", st.Mode().Perm())
	}
	disk, err := os.Open(filepath.Join(m.Dir, DiskFile))
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	ud, err := api.ReadUserdata(disk)
	if err != nil {
		t.Fatalf("the data disk does not hold the userdata: %v", err)
	}
	pub, _ := os.ReadFile(filepath.Join(m.Dir, SSHPubKey))
	if ud.Hostname != "tender-dev" || !bytes.Equal(ud.AuthorizedKeys, pub) {
		t.Fatalf("userdata hostname %q, authorized keys %q", ud.Hostname, ud.AuthorizedKeys)
	}
	if got := strings.Join(d.Calls, ","); got != "create dev" {
		t.Fatalf("driver calls %q", got)
	}
	if names, _ := s.List(); strings.Join(names, ",") != "dev" {
		t.Fatalf("List = %v", names)
	}
}

// A failure at the last step, or an interrupt, leaves no machine and no
// temporary directory behind.
func TestInitLeavesNothingOnFailure(t *testing.T) {
	for name, setup := range map[string]func(*testfakes.Driver) context.Context{
		"driver create fails": func(d *testfakes.Driver) context.Context {
			d.CreateErr = errors.New("boom")
			return context.Background()
		},
		"interrupted": func(d *testfakes.Driver) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		},
	} {
		t.Run(name, func(t *testing.T) {
			d := &testfakes.Driver{}
			s := newStore(t, d)
			if _, err := s.Init(setup(d), "dev", small(t)); err == nil {
				t.Fatal("Init succeeded")
			}
			entries, _ := os.ReadDir(filepath.Join(s.Home, MachinesDir))
			if len(entries) != 0 {
				t.Fatalf("left behind: %v", entries)
			}
		})
	}
}

func TestChoosePortKeepsStoredPortUnlessTaken(t *testing.T) {
	s := newStore(t, &testfakes.Driver{})
	free := testfakes.FreeTCPPort(t)
	if p, err := s.choosePort("docker_port", "--dockerport", 0, free, 0); err != nil || p != free {
		t.Fatalf("stored free port: got %d, %v; want %d", p, err, free)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	p, err := s.choosePort("docker_port", "--dockerport", 0, taken, 0)
	if err != nil || p == taken || p == 0 {
		t.Fatalf("stored taken port: got %d, %v; want another port", p, err)
	}
	if _, err := s.choosePort("docker_port", "--dockerport", taken, 0, 0); err == nil || !strings.Contains(err.Error(), "--dockerport") {
		t.Fatalf("pinned taken port: error %v should name --dockerport", err)
	}
}

func TestHostAlias(t *testing.T) {
	for name, want := range map[string]string{
		"default": "tender-default",
		"dev-2":   "tender-dev-2",
		"Dev":     "tender-dev", // a host name: lower case, unlike vm.Name
	} {
		if got := hostAlias(name); got != want {
			t.Errorf("hostAlias(%q) = %q, want %q", name, got, want)
		}
	}
}

// A machine directory without machine.yaml (emptied or half-made by hand)
// is not a machine, but was in the way of init ("already exists") while
// delete said it "does not exist". init now names it half-made and points
// at delete, and delete removes it, so that init works.
func TestHalfMadeMachineDirectory(t *testing.T) {
	s := newStore(t, &testfakes.Driver{})
	dir := s.Dir("half")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "serial.log"), []byte("boot"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := s.Init(context.Background(), "half", small(t))
	if err == nil || !strings.Contains(err.Error(), "half-made") || !strings.Contains(err.Error(), "tender delete half") {
		t.Fatalf("Init over a half-made directory = %v, want it named half-made with `tender delete half`", err)
	}
	if !s.HalfMade("half") {
		t.Fatal("HalfMade = false")
	}
	if err := s.Delete(context.Background(), "half"); err != nil {
		t.Fatalf("Delete of a half-made directory = %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the directory is still there: %v", err)
	}
	if _, err := s.Init(context.Background(), "half", small(t)); err != nil {
		t.Fatalf("Init after the delete = %v", err)
	}
	if s.HalfMade("half") {
		t.Error("a whole machine is reported half-made")
	}
}

// A directory that an init made whole between delete's look and its lock is
// deleted as a machine (its VM too), not removed as a half-made directory.
func TestDeleteHalfMadeRechecksUnderTheLock(t *testing.T) {
	d := &testfakes.Driver{}
	s := newStore(t, d)
	if _, err := s.Init(context.Background(), "dev", small(t)); err != nil {
		t.Fatal(err)
	}
	d.Calls = nil
	if err := s.deleteHalfMade(context.Background(), "dev"); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(d.Calls, "delete") {
		t.Errorf("driver calls %q: the whole machine's VM was not deleted", d.Calls)
	}
	if _, err := os.Stat(s.Dir("dev")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the machine directory is still there: %v", err)
	}
}
