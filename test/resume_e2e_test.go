//go:build e2e

package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenderdev/tender/internal/testfakes"
)

// TestSaveResume checks [resume] on one QEMU machine: a container's
// processes (the same PIDs, an in-memory counter that goes on, a `docker
// exec` process) and its published port survive `tender save` + `tender up`,
// and so does the share; a container that bind-mounts the share makes the
// save refuse, naming it, and --force stops it; `down` saves when
// down_action is save; a tender killed during a save leaves a machine the
// next `up` brings back with nothing lost; a state QEMU cannot load gives a
// cold boot with one warning and the disk intact.
func TestSaveResume(t *testing.T) {
	iso := builtISO(t, "tender.iso", "make iso")
	home := t.TempDir()
	share := t.TempDir()
	if err := os.WriteFile(filepath.Join(share, "in"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// down_action: save also makes share_type auto choose 9p.
	config := fmt.Sprintf("shares: [%s]\ndown_action: save\n", share)
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, bin: tenderBin(t), home: home}
	mdir := filepath.Join(home, "machines", "default")
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"hostagent.log", "serial.log"} {
				b, _ := os.ReadFile(filepath.Join(mdir, f))
				t.Logf("%s:\n%s", f, b)
			}
		}
		_, _ = c.tenderErr("poweroff")
	})
	c.tender("init", "--iso", iso, "--memory", "1GiB", "--disksize", "4GiB")
	c.tender("up")
	docker := func(script string) string {
		t.Helper()
		return c.bash(`eval "$(tender shellinit)"` + "\n" + script)
	}
	docker("./scripts/busybox-image.sh >/dev/null")
	port := testfakes.FreeTCPPort(t)
	docker(fmt.Sprintf(`docker run -d --name counter -p %d:80 busybox sh -c 'mkdir -p /w; httpd -p 80 -h /w; i=0; while true; do i=$((i+1)); echo $i > /w/index.html; sleep 1; done' >/dev/null
docker exec -d counter sleep 4242`, port))
	count := func() int {
		n, _ := strconv.Atoi(strings.TrimSpace(httpGet(port)))
		return n
	}
	waitUntil(t, 10*time.Second, "the counter to answer on the published port", func() bool { return count() > 0 })
	// The container's lasting processes, without the loop's passing
	// `sleep 1`.
	top := func() string {
		t.Helper()
		return docker(`docker top counter -o pid,args | grep -v ' sleep 1$'`)
	}
	before := top()
	if !strings.Contains(before, "sleep 4242") {
		t.Fatalf("docker top before the save =\n%s\nwant the exec'd sleep 4242", before)
	}
	c.tender("ssh", "--", "echo on the disk > /home/docker/kept")

	shareConfined(t, c, share) // 9p, as down_action: save makes it

	// A container bind-mounting the share: the save refuses, naming it,
	// and the machine runs on with its share.
	docker(fmt.Sprintf(`docker run -d --name binder -v %s:/data busybox sleep 100000 >/dev/null`, share))
	out, err := c.tenderErr("save")
	if err == nil || !strings.Contains(out, "binder") || !strings.Contains(out, "--force") || strings.Count(strings.TrimSpace(out), "\n") > 1 {
		t.Fatalf("save with a container on the share: err %v, output\n%s\nwant a refusal naming binder and --force", err, out)
	}
	if got := c.status(); got != "running\n" {
		t.Fatalf("status after the refused save = %q, want running", got)
	}
	if got := docker(fmt.Sprintf(`docker run --rm -v %s:/s busybox cat /s/in`, share)); got != "from the host\n" {
		t.Fatalf("the share after the refused save reads %q", got)
	}

	// save --force stops binder and saves; status says saved.
	start := time.Now()
	out = c.tenderAll("save", "--force")
	t.Logf("save --force: %s\n%s", time.Since(start).Round(100*time.Millisecond), out)
	if !strings.Contains(out, "stopped container binder") {
		t.Errorf("save --force said\n%s\nwant that it stopped binder", out)
	}
	if got := c.status(); got != "saved\n" {
		t.Fatalf("status after save = %q, want saved", got)
	}
	if _, err := os.Stat(filepath.Join(mdir, "qemu.state")); err != nil {
		t.Fatalf("no state file after save: %v", err)
	}
	// up resumes: same processes, the counter goes on, the port answers,
	// the share reads and writes, binder stays stopped.
	resume := func(what string) {
		t.Helper()
		start := time.Now()
		out := c.tenderAll("up")
		t.Logf("up from saved (%s): %s", what, time.Since(start).Round(100*time.Millisecond))
		if strings.Contains(out, "warning: the saved state") {
			t.Fatalf("up after %s did not resume:\n%s", what, out)
		}
		if _, err := os.Stat(filepath.Join(mdir, "qemu.state")); err == nil {
			t.Fatalf("up after %s left the state file: a later up could load it again", what)
		}
	}
	last := 0
	checkSame := func(what string) {
		t.Helper()
		waitUntil(t, 10*time.Second, "the published port after "+what, func() bool { return count() > last })
		last = count()
		if after := top(); after != before {
			t.Errorf("docker top after %s =\n%s\nwant the processes before it\n%s", what, after, before)
		}
		if got := docker(fmt.Sprintf(`docker run --rm -v %s:/s busybox sh -c 'cat /s/in; echo written > /s/out'`, share)); got != "from the host\n" {
			t.Errorf("the share after %s reads %q", what, got)
		}
		if b, err := os.ReadFile(filepath.Join(share, "out")); err != nil || string(b) != "written\n" {
			t.Errorf("a write to the share after %s: %q, %v", what, b, err)
		}
		os.Remove(filepath.Join(share, "out"))
	}
	before1 := count()
	resume("save --force")
	checkSame("save --force")
	if last <= before1 {
		t.Errorf("the counter went from %d to %d: it did not go on", before1, last)
	}
	if got := docker(`docker inspect -f '{{.State.Running}}' binder`); got != "false\n" {
		t.Errorf("binder running after save --force: %q", got)
	}

	// down with down_action: save saves.
	c.tender("down")
	if got := c.status(); got != "saved\n" {
		t.Fatalf("status after down with down_action save = %q, want saved", got)
	}
	resume("down")
	checkSame("down")

	// kill -9 of tender during a save: the machine is left running or
	// resumable, and the next up gets everything back.
	p := c.start("save")
	time.Sleep(2500 * time.Millisecond) // past the guest's part, into QEMU's
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	out, _ = p.wait()
	t.Logf("tender save killed after 2.5 s; it had said:\n%s; status is now %s", out, c.status())
	out = c.tenderAll("up")
	if strings.Contains(out, "warning: the saved state") {
		t.Logf("(the save had finished: up resumed it)")
	}
	if got := c.status(); got != "running\n" {
		t.Fatalf("status after up = %q", got)
	}
	checkSame("a save killed half-way")
	for _, f := range []string{"qemu.state", "qemu.state.partial", "qemu.state.loading"} {
		if _, err := os.Stat(filepath.Join(mdir, f)); err == nil {
			t.Errorf("%s is left behind", f)
		}
	}

	// A state QEMU cannot load: one warning, a cold boot, the disk intact.
	c.tender("save")
	state := filepath.Join(mdir, "qemu.state")
	st, err := os.Stat(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(state, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	out = c.tenderAll("up")
	if n := strings.Count(out, "warning: the saved state"); n != 1 {
		t.Fatalf("up of a truncated state said\n%s\nwant one warning about the saved state", out)
	}
	if got := c.tender("ssh", "--", "cat /home/docker/kept"); got != "on the disk\n" {
		t.Errorf("after the cold boot /home/docker/kept = %q", got)
	}
	if got := docker(`docker ps -a --format '{{.Names}}' | sort | tr '\n' ' '`); got != "binder counter " {
		t.Errorf("after the cold boot the containers are %q, want binder and counter (stopped)", got)
	}
	if _, err := os.Stat(state); err == nil {
		t.Error("the truncated state was kept")
	}
}
