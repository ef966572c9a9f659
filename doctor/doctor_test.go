package doctor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderdev/tender/vm/qemu"
)

// fakeHost has what a Linux host with everything installed has, but KVM.
func fakeHost(t *testing.T) Host {
	return Host{
		GOOS: "linux", GOARCH: "amd64", Home: t.TempDir(),
		LookPath: func(name string) (string, error) { return "/usr/bin/" + name, nil },
		Output: func(ctx context.Context, name string, args ...string) ([]byte, error) {
			return []byte("QEMU emulator version 7.2.22\nCopyright\n"), nil
		},
		Accel:     func(string) qemu.Accel { return qemu.KVM },
		Virtiofsd: func(string) *qemu.Virtiofsd { return &qemu.Virtiofsd{Path: "/usr/libexec/virtiofsd"} },
	}
}

func byName(checks []Check) map[string]Check {
	m := map[string]Check{}
	for _, c := range checks {
		m[c.Name] = c
	}
	return m
}

func TestEverythingThere(t *testing.T) {
	checks := Run(context.Background(), fakeHost(t))
	if Failed(checks) {
		t.Errorf("problems on a complete host: %+v", checks)
	}
	for _, c := range checks {
		if c.Level != OK {
			t.Errorf("%s: %s %s", c.Name, c.Level, c.Detail)
		}
	}
	if got := byName(checks)["QEMU"].Detail; got != "/usr/bin/qemu-system-x86_64: QEMU emulator version 7.2.22" {
		t.Errorf("QEMU detail = %q", got)
	}
}

// Each thing missing is its own line with its fix; only what breaks tender
// is a problem.
func TestWhatIsMissing(t *testing.T) {
	h := fakeHost(t)
	h.LookPath = func(name string) (string, error) { return "", errors.New("not found") }
	h.Accel = func(string) qemu.Accel { return qemu.TCG }
	h.Virtiofsd = func(string) *qemu.Virtiofsd { return nil }
	file := filepath.Join(t.TempDir(), "home")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.Home = file
	checks := Run(context.Background(), h)
	if !Failed(checks) {
		t.Fatal("no problem reported")
	}
	m := byName(checks)
	for name, want := range map[string]struct{ level, fix string }{
		"TENDER_HOME": {Problem, "point TENDER_HOME at a directory"},
		"QEMU":        {Problem, "--driver virtualbox"},
		"accelerator": {Warning, ""},
		"docker CLI":  {Problem, "install the docker CLI"},
	} {
		c, ok := m[name]
		if !ok || c.Level != want.level || !strings.Contains(c.Fix, want.fix) {
			t.Errorf("%s = %+v, want level %s and a fix with %q", name, c, want.level, want.fix)
		}
	}
	if _, ok := m["virtiofsd"]; ok {
		t.Error("virtiofsd checked without a QEMU to find it beside")
	}
}

// A TENDER_HOME so long that a machine's sockets would not fit is a warning.
func TestLongHome(t *testing.T) {
	h := fakeHost(t)
	h.Home = filepath.Join(h.Home, strings.Repeat("d", 60))
	if c := byName(Run(context.Background(), h))["TENDER_HOME"]; c.Level != Warning || !strings.Contains(c.Fix, "shorter") {
		t.Errorf("TENDER_HOME = %+v, want a warning to shorten it", c)
	}
}
