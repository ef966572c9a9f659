//go:build e2e

package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestARM64EndToEnd boots the arm64 image with `tender init --arch arm64`
// and `tender up`, runs busybox (Debian's arm64 busybox-static) in it, and
// checks that the data survives down and up. On an amd64 host the guest
// runs under TCG, which is slow (about 8 minutes): one boot cycle only.
// `make test` builds out/tender-arm64.iso first (`make iso-arm64`).
func TestARM64EndToEnd(t *testing.T) {
	iso := builtISO(t, "tender-arm64.iso", "make iso-arm64")
	c := &cli{t: t, bin: tenderBin(t), home: filepath.Join(t.TempDir(), "home")}
	t.Setenv("TENDER_BOOT_TIMEOUT", "20m")
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(c.home, "machines", "default", "serial.log"))
			t.Logf("serial.log:\n%s", log)
		}
		_, _ = c.tenderErr("poweroff")
	})
	step := func(name string, f func()) {
		t.Helper()
		start := time.Now()
		f()
		t.Logf("%-28s %6.1fs", name, time.Since(start).Seconds())
	}

	step("init --arch arm64", func() {
		out, err := c.tenderErr("init", "--arch", "arm64", "--iso", iso, "--memory", "1GiB", "--disksize", "4GiB")
		if err != nil {
			t.Fatalf("init: %v\n%s", err, out)
		}
	})
	if got := c.tender("config"); !strings.Contains(got, "arm64") {
		t.Fatalf("config does not say arm64:\n%s", got)
	}
	step("up (first boot)", func() { c.tender("up") })
	if got := c.tender("ssh", "--", "uname", "-m"); got != "aarch64\n" {
		t.Fatalf("ssh -- uname -m = %q, want aarch64", got)
	}
	step("docker run busybox", func() {
		out := c.bash(`eval "$(tender shellinit)"
./scripts/busybox-image.sh --arch arm64
docker run --name greeter busybox echo "hello world"`)
		if out != "hello world\n" {
			t.Fatalf("docker run printed %q, want %q", out, "hello world\n")
		}
	})
	step("down", func() { c.tender("down") })
	if got := c.status(); got != "stopped\n" {
		t.Fatalf("status after down = %q, want stopped", got)
	}
	step("up (second boot)", func() { c.tender("up") })
	out := c.bash(`eval "$(tender shellinit)"; docker image ls --format '{{.Repository}}'; docker ps -a --format '{{.Names}}'`)
	if !strings.Contains(out, "busybox") || !strings.Contains(out, "greeter") {
		t.Fatalf("after a reboot, images and containers are %q; want busybox and greeter", out)
	}
	step("delete -f", func() { c.tender("delete", "-f") })
}
