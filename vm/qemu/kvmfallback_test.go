package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWatchKVM(t *testing.T) {
	ctx := context.Background()
	status := func(st string) func(string) []string {
		return func(cmd string) []string {
			if cmd == "query-status" {
				return []string{`{"return": {"status": "` + st + `", "running": false}}`}
			}
			return nil
		}
	}
	t.Run("QEMU's KVM internal error", func(t *testing.T) {
		s := fakeSpec(t)
		startFakeQEMU(t, s)
		serveQMP(t, filepath.Join(s.Dir, QMPSocket), status("internal-error"))
		if err := (&Driver{}).watchKVM(ctx, s); !errors.Is(err, errKVMFailed) {
			t.Fatalf("watchKVM = %v, want errKVMFailed", err)
		}
	})
	t.Run("the guest wrote to its serial log", func(t *testing.T) {
		s := fakeSpec(t)
		startFakeQEMU(t, s)
		serveQMP(t, filepath.Join(s.Dir, QMPSocket), status("running"))
		os.WriteFile(s.SerialLog, []byte("tender-init: initramfs-start\n"), 0o600)
		if err := (&Driver{}).watchKVM(ctx, s); err != nil {
			t.Fatalf("watchKVM = %v, want nil", err)
		}
	})
	t.Run("QEMU is gone", func(t *testing.T) {
		s := fakeSpec(t)
		if err := (&Driver{}).watchKVM(ctx, s); err != nil {
			t.Fatalf("watchKVM = %v, want nil", err)
		}
	})
}

func TestKVMFailedBefore(t *testing.T) {
	if HostBootID() == "" {
		t.Skip("no boot id on this host")
	}
	s := fakeSpec(t)
	host := &Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM}
	accel := func(d *Driver) Accel {
		h, err := d.host(s)
		if err != nil {
			t.Fatal(err)
		}
		return h.Accel
	}
	if got := accel(&Driver{Host: host}); got != KVM {
		t.Fatalf("before any failure: %s, want kvm", got)
	}
	os.WriteFile(filepath.Join(s.Dir, KVMFailedFile), []byte("an earlier boot of the host\n"), 0o600)
	if got := accel(&Driver{Host: host}); got != KVM {
		t.Errorf("after a failure in an earlier boot of the host: %s, want kvm", got)
	}
	os.WriteFile(filepath.Join(s.Dir, KVMFailedFile), []byte(HostBootID()+"\n"), 0o600)
	if got := accel(&Driver{Host: host}); got != TCG {
		t.Errorf("after a failure in this boot of the host: %s, want tcg", got)
	}
	if got := accel(&Driver{Host: host, Accel: KVM}); got != KVM {
		t.Errorf("with accel: kvm asked for: %s, want kvm", got)
	}
}

// TestQueryStatus: the status as QEMU reports it, events before the reply
// skipped (QEMU interleaves them), and an error without a monitor.
func TestQueryStatus(t *testing.T) {
	ctx := context.Background()
	for _, want := range []string{"internal-error", "running"} {
		sock := filepath.Join(t.TempDir(), "qmp.sock")
		serveQMP(t, sock, func(cmd string) []string {
			if cmd == "query-status" {
				return []string{`{"event": "RESUME", "timestamp": {}}`, `{"return": {"status": "` + want + `", "running": false}}`}
			}
			return nil
		})
		if got, err := QueryStatus(ctx, "unix", sock); err != nil || got != want {
			t.Errorf("QueryStatus = %q, %v; want %q", got, err, want)
		}
	}
	if got, err := QueryStatus(ctx, "unix", filepath.Join(t.TempDir(), "none.sock")); err == nil {
		t.Errorf("QueryStatus without QEMU = %q, want an error", got)
	}
}
