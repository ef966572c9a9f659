// Package kvmprobe tells the test and bench tools, which run QEMU
// themselves, whether this host's KVM can boot the ISO. A /dev/kvm that
// opens is not enough: a host that is itself a VM may offer a KVM for
// paravirtual guests only (PVM), under which QEMU stops in the ISO's boot
// loader with "KVM internal error" (vm/qemu falls back to TCG for tender
// itself; see kvmfallback.go there). The answer is found once per host
// boot, by booting the ISO under KVM until it writes to its serial console,
// and kept in a file in the temporary directory.
package kvmprobe

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tenderdev/tender/vm/qemu"
)

// Usable reports whether program (a qemu-system-* program) can boot iso with
// -accel kvm here. It is false without a /dev/kvm that opens.
func Usable(program, iso string) bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	cache := cacheFile(program)
	if b, err := os.ReadFile(cache); err == nil {
		return strings.TrimSpace(string(b)) == "kvm"
	}
	ok, err := probe(program, iso)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kvmprobe: %v; using TCG\n", err)
		return false
	}
	answer := "tcg"
	if ok {
		answer = "kvm"
	} else {
		fmt.Fprintf(os.Stderr, "kvmprobe: this host's KVM stops the guest at its boot loader (KVM internal error); QEMU runs with TCG (remembered in %s)\n", cache)
	}
	_ = os.WriteFile(cache, []byte(answer+"\n"), 0o644)
	return ok
}

// cacheFile is where the answer for this host boot and this QEMU program
// is kept.
func cacheFile(program string) string {
	id := qemu.HostBootID()
	if id == "" {
		id = "unknown"
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("tender-kvmprobe-%s-%s", filepath.Base(program), id))
}

// probe boots iso under KVM and watches it as tender's driver does
// (qemu.KVMStopped): false when QEMU stopped the guest with a KVM
// internal error.
func probe(program, iso string) (bool, error) {
	dir, err := os.MkdirTemp("", "kvmprobe")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	serial, qmp := filepath.Join(dir, "serial.log"), filepath.Join(dir, "qmp.sock")
	cmd := exec.Command(program, "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults", "-no-user-config",
		"-display", "none", "-cdrom", iso, "-boot", "d", "-serial", "file:"+serial,
		"-qmp", "unix:"+qmp+",server=on,wait=off", "-no-reboot")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("starting %s: %w", program, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() { _ = cmd.Process.Kill(); <-exited }()
	running := func() bool {
		select {
		case <-exited:
			return false
		default:
			return true
		}
	}
	status := func(ctx context.Context) (string, error) { return qemu.QueryStatus(ctx, "unix", qmp) }
	if qemu.KVMStopped(context.Background(), serial, running, status) {
		return false, nil
	}
	if st, err := os.Stat(serial); !running() && (err != nil || st.Size() == 0) {
		return false, fmt.Errorf("%s -accel kvm exited at once: %s", program, strings.TrimSpace(stderr.String()))
	}
	return true, nil
}
