package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tenderdev/tender/vm"
)

// A /dev/kvm that opens is not always a KVM that runs a PC guest: a host
// that is itself a VM may offer a KVM for paravirtual guests only (PVM),
// which stops at the guest's firmware with "KVM internal error" in QEMU.
// Asked for no accelerator in particular, Start watches a KVM boot until
// the guest writes its first line to the serial log. When QEMU reports
// that error instead, Start boots the machine again with TCG, says so, and
// records it in KVMFailedFile with the host's boot id, so that the next
// boots of that machine skip KVM until the host restarts.

// KVMFailedFile holds the boot id of the host whose KVM could not run the
// machine's guest.
const KVMFailedFile = "kvm-failed"

// kvmWatch bounds the watch: a guest under a working KVM writes to its
// serial log well within it (PVM failed in 1.5 s, measured).
const kvmWatch = 10 * time.Second

var errKVMFailed = errors.New("KVM internal error")

// watchKVM waits until the guest QEMU just started has written to its
// serial log, QEMU is gone (the caller's wait reports that), or kvmWatch
// has passed; it returns errKVMFailed when QEMU stopped the guest with a
// KVM internal error.
func (d *Driver) watchKVM(ctx context.Context, s vm.Spec) error {
	running := func() bool { _, err := d.runningPid(s); return err == nil }
	status := func(ctx context.Context) (string, error) { return d.queryStatus(ctx, s) }
	if KVMStopped(ctx, s.SerialLog, running, status) {
		return errKVMFailed
	}
	return nil
}

// KVMStopped watches a QEMU just started with -accel kvm: true when status
// reports QEMU stopped the guest with a KVM internal error, false once the
// guest has written to serialLog, running says QEMU is gone, or kvmWatch
// (or ctx) has passed. test/kvmprobe watches its probe with it too.
func KVMStopped(ctx context.Context, serialLog string, running func() bool, status func(context.Context) (string, error)) bool {
	ctx, cancel := context.WithTimeout(ctx, kvmWatch)
	defer cancel()
	for {
		if st, err := os.Stat(serialLog); err == nil && st.Size() > 0 {
			return false
		}
		if !running() {
			return false
		}
		if st, err := status(ctx); err == nil && st == "internal-error" {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startWithTCG ends the QEMU that KVM stopped and boots the machine with
// TCG, remembering why.
func (d *Driver) startWithTCG(ctx context.Context, s vm.Spec) error {
	if err := d.Stop(ctx, s, true); err != nil {
		return err
	}
	if id := HostBootID(); id != "" {
		_ = os.WriteFile(filepath.Join(s.Dir, KVMFailedFile), []byte(id+"\n"), 0o600)
	}
	d.warn("warning: this host's KVM stopped the guest at its firmware (QEMU: KVM internal error), so the machine boots with TCG, which is much slower; `accel: tcg` in machine.yaml (or TENDER_ACCEL=tcg) skips the try")
	tcg := *d
	tcg.Accel = TCG
	return tcg.Start(ctx, s)
}

// kvmFailedBefore reports whether KVM failed this machine since the host
// last started.
func kvmFailedBefore(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, KVMFailedFile))
	id := HostBootID()
	return err == nil && id != "" && strings.TrimSpace(string(b)) == id
}

// HostBootID is Linux's id of this boot of the host ("" elsewhere).
func HostBootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
