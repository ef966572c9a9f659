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
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// watch bounds one probe: under a KVM that works the boot loader writes
// its first line well within it (under PVM QEMU stopped after 1.5 s).
const watch = 15 * time.Second

// Usable reports whether qemu (a qemu-system-* program) can boot iso with
// -accel kvm here. It is false without a /dev/kvm that opens.
func Usable(qemu, iso string) bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	cache := cacheFile(qemu)
	if b, err := os.ReadFile(cache); err == nil {
		return strings.TrimSpace(string(b)) == "kvm"
	}
	ok, err := probe(qemu, iso)
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
func cacheFile(qemu string) string {
	id := "unknown"
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		id = strings.TrimSpace(string(b))
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("tender-kvmprobe-%s-%s", filepath.Base(qemu), id))
}

// probe boots iso under KVM until its serial console is written (true),
// QEMU reports an internal error (false), or watch has passed (true, as
// vm/qemu decides).
func probe(qemu, iso string) (bool, error) {
	dir, err := os.MkdirTemp("", "kvmprobe")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	serial, qmp := filepath.Join(dir, "serial.log"), filepath.Join(dir, "qmp.sock")
	cmd := exec.Command(qemu, "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults", "-no-user-config",
		"-display", "none", "-cdrom", iso, "-boot", "d", "-serial", "file:"+serial,
		"-qmp", "unix:"+qmp+",server=on,wait=off", "-no-reboot")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("starting %s: %w", qemu, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() { _ = cmd.Process.Kill(); <-exited }()
	deadline := time.Now().Add(watch)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false, fmt.Errorf("%s -accel kvm exited at once: %s", qemu, strings.TrimSpace(stderr.String()))
		case <-time.After(100 * time.Millisecond):
		}
		if st, err := os.Stat(serial); err == nil && st.Size() > 0 {
			return true, nil
		}
		if status(qmp) == "internal-error" {
			return false, nil
		}
	}
	return true, nil
}

// status is QEMU's run status over QMP, "" when it cannot be read.
func status(sock string) string {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	dec := json.NewDecoder(c)
	var greeting map[string]any
	if dec.Decode(&greeting) != nil {
		return ""
	}
	for _, cmd := range []string{"qmp_capabilities", "query-status"} {
		if _, err := fmt.Fprintf(c, `{"execute":%q}`+"\n", cmd); err != nil {
			return ""
		}
		for {
			var reply struct {
				Return json.RawMessage `json:"return"`
				Error  any             `json:"error"`
			}
			if dec.Decode(&reply) != nil || reply.Error != nil {
				return ""
			}
			if reply.Return == nil { // an event
				continue
			}
			if cmd == "query-status" {
				var st struct {
					Status string `json:"status"`
				}
				_ = json.Unmarshal(reply.Return, &st)
				return st.Status
			}
			break
		}
	}
	return ""
}
