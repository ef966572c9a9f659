package qemu

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenderdev/tender/vm"
)

func TestVirtiofsdArgs(t *testing.T) {
	s := testSpec()
	s.Shares = []vm.Share{{HostPath: "/home/u", Tag: "share0"}, {HostPath: "/srv/a,b", Tag: "share1"}}
	tests := []struct {
		name string
		i    int
		v    Virtiofsd
		want []string
	}{
		{"C virtiofsd of QEMU ≤ 7.2", 0, Virtiofsd{Path: "/usr/lib/qemu/virtiofsd"}, []string{
			"/usr/lib/qemu/virtiofsd", "--socket-path=/home/u/.tender/machines/default/virtiofs0.sock",
			"-o", "source=/home/u", "-o", "cache=auto", "-o", "announce_submounts", "-o", "modcaps=-mknod",
		}},
		{"Rust virtiofsd, second share, a comma is no option separator here", 1, Virtiofsd{Path: "/usr/libexec/virtiofsd", Rust: true}, []string{
			"/usr/libexec/virtiofsd", "--socket-path=/home/u/.tender/machines/default/virtiofs1.sock",
			"--shared-dir=/srv/a,b", "--cache=auto", "--sandbox=namespace", "--announce-submounts", "--modcaps=-mknod",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VirtiofsdArgs(s, tt.i, tt.v); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("argv differs\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

func TestIsRustVirtiofsd(t *testing.T) {
	c := "usage: /usr/lib/qemu/virtiofsd [options]\n    -o source=PATH             shared directory tree\n"
	rust := "Usage: virtiofsd [OPTIONS] --socket-path <SOCKET_PATH>\n      --shared-dir <SHARED_DIR>\n"
	if IsRustVirtiofsd(c) || !IsRustVirtiofsd(rust) {
		t.Fatal("the C and Rust virtiofsd were not told apart")
	}
}

func TestChooseVirtiofs(t *testing.T) {
	found := &Virtiofsd{Path: "/usr/libexec/virtiofsd", Rust: true}
	tests := []struct {
		shareType string
		goos      string
		found     *Virtiofsd
		root      bool
		want      *Virtiofsd
		err       string
	}{
		{"auto", "linux", found, true, found, ""},
		{"", "linux", found, true, found, ""},
		{"auto", "linux", nil, true, nil, ""},    // no virtiofsd: 9p
		{"auto", "linux", found, false, nil, ""}, // not root: 9p, files stay the user's
		{"auto", "darwin", found, true, nil, ""},
		{"9p", "linux", found, true, nil, ""},
		{"virtiofs", "linux", found, true, found, ""},
		{"virtiofs", "linux", nil, true, nil, "share_type virtiofs needs virtiofsd, which was not found"},
		{"virtiofs", "linux", found, false, nil, "share_type virtiofs needs tender to run as root"},
		{"virtiofs", "darwin", found, true, nil, "share_type virtiofs needs a Linux host"},
		{"nfs", "linux", found, true, nil, `share_type must be one of auto, 9p, virtiofs, got "nfs"`},
	}
	for _, tt := range tests {
		got, err := ChooseVirtiofs(tt.shareType, tt.goos, tt.found, tt.root)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ChooseVirtiofs(%q, %q, %v, root=%v) = %v, %v; want %v, %q", tt.shareType, tt.goos, tt.found != nil, tt.root, got, err, tt.want, tt.err)
		}
	}
}

func TestStartVirtiofs(t *testing.T) {
	ctx := context.Background()
	host := &Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM, QEMU: "/usr/bin/qemu-system-x86_64",
		Virtiofsd: &Virtiofsd{Path: "/usr/libexec/virtiofsd", Rust: true}, Root: true}
	spec := func(t *testing.T) vm.Spec {
		s := fakeSpec(t)
		s.Shares = []vm.Share{{HostPath: "/home/u", Tag: "share0"}, {HostPath: "/srv", Tag: "share1", ReadOnly: true}}
		return s
	}
	// daemons stands in for virtiofsd: a sleeping process with its argv,
	// which makes its socket as virtiofsd would.
	type daemons struct{ calls [][]string }
	start := func(t *testing.T, ds *daemons) func(string, string, ...string) (int, error) {
		return func(logPath, name string, args ...string) (int, error) {
			ds.calls = append(ds.calls, append([]string{name}, args...))
			cmd := startFake(t, args...)
			sock := strings.TrimPrefix(args[0], "--socket-path=")
			if err := os.WriteFile(sock, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return cmd.Process.Pid, nil
		}
	}

	t.Run("virtiofsd for the writable share, then QEMU", func(t *testing.T) {
		s := spec(t)
		r, ds := &recorder{}, &daemons{}
		d := &Driver{Runner: r, Host: host, Shares: "virtiofs", StartDaemon: start(t, ds)}
		if err := d.Start(ctx, s); err != nil {
			t.Fatal(err)
		}
		if want := [][]string{VirtiofsdArgs(s, 0, *host.Virtiofsd)}; !reflect.DeepEqual(ds.calls, want) {
			t.Errorf("virtiofsd calls\n got %q\nwant %q", ds.calls, want)
		}
		want, _ := Cmdline(s, *host, nil)
		if !reflect.DeepEqual(r.calls, [][]string{want}) || !slices.Contains(want, "vhost-user-fs-pci,chardev=vfs0,tag=share0,queue-size=1024") {
			t.Errorf("QEMU calls\n got %q\nwant %q", r.calls, [][]string{want})
		}
		pid, err := readPid(virtiofsdPidFile(s.Dir, 0))
		if err != nil || !isOurs(pid, virtiofsdMarkers(s.Dir, 0)) {
			t.Fatalf("no running virtiofsd recorded: %v", err)
		}
		// Stop(force) on a machine whose QEMU is gone ends the virtiofsd too.
		if err := d.Stop(ctx, s, true); err != nil {
			t.Fatal(err)
		}
		if !waitGone(ctx, pid, virtiofsdMarkers(s.Dir, 0), 5*time.Second) {
			t.Error("virtiofsd outlived Stop")
		}
		if exists(virtiofsdPidFile(s.Dir, 0)) || exists(virtiofsSocket(s.Dir, 0)) {
			t.Error("virtiofsd's runtime files left behind")
		}
	})
	t.Run("QEMU fails: no virtiofsd left", func(t *testing.T) {
		s := spec(t)
		r, ds := &recorder{err: errors.New("running qemu-system-x86_64 -machine: exit status 1: bad option")}, &daemons{}
		d := &Driver{Runner: r, Host: host, Shares: "virtiofs", StartDaemon: start(t, ds)}
		if err := d.Start(ctx, s); err == nil {
			t.Fatal("Start succeeded")
		}
		if len(ds.calls) != 1 || exists(virtiofsdPidFile(s.Dir, 0)) || exists(virtiofsSocket(s.Dir, 0)) {
			t.Errorf("virtiofsd calls %q; its runtime files should be gone", ds.calls)
		}
	})
	t.Run("virtiofsd exits at start", func(t *testing.T) {
		s := spec(t)
		r := &recorder{}
		exits := func(logPath, name string, args ...string) (int, error) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Run()
			return cmd.Process.Pid, nil
		}
		d := &Driver{Runner: r, Host: host, Shares: "virtiofs", StartDaemon: exits}
		err := d.Start(ctx, s)
		if err == nil || !strings.Contains(err.Error(), "sharing /home/u: virtiofsd exited at start (see "+filepath.Join(s.Dir, VirtiofsdLog)+", or set share_type to 9p)") {
			t.Errorf("Start error = %v", err)
		}
		if len(r.calls) != 0 {
			t.Error("QEMU was started without its virtiofsd")
		}
	})
	t.Run("share_type 9p starts no virtiofsd", func(t *testing.T) {
		s := spec(t)
		r, ds := &recorder{}, &daemons{}
		d := &Driver{Runner: r, Host: host, Shares: "9p", StartDaemon: start(t, ds)}
		if err := d.Start(ctx, s); err != nil {
			t.Fatal(err)
		}
		nine := *host
		nine.Virtiofsd = nil
		want, _ := Cmdline(s, nine, nil)
		if len(ds.calls) != 0 || !reflect.DeepEqual(r.calls, [][]string{want}) {
			t.Errorf("virtiofsd calls %q, QEMU calls %q", ds.calls, r.calls)
		}
	})
}
