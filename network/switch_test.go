//go:build !windows

package network

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildSwitch builds cmd/tender-net for the test.
func buildSwitch(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), SwitchProgram)
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/tender-net").CombinedOutput(); err != nil {
		t.Fatalf("building tender-net: %v\n%s", err, out)
	}
	return bin
}

// The switch's life as machines come and go: started once, left alone when
// it serves the right members, restarted when they change or when it was
// killed, stopped on request; every socket it serves bound.
func TestSwitchFollowsItsMembers(t *testing.T) {
	prog := buildSwitch(t)
	ctx := context.Background()
	home, err := os.MkdirTemp("", "tsw") // short: socket paths
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	s := &Store{Home: home}
	vmSocket := func(m string) string { return filepath.Join(home, m+"-vm.sock") }
	if _, _, _, err := s.Join(ctx, "lab", "n1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.StopSwitch(ctx, "lab") })
	if err := s.EnsureSwitch(ctx, "lab", prog, vmSocket); err != nil {
		t.Fatal(err)
	}
	pid := s.SwitchPID("lab")
	if pid == 0 {
		t.Fatal("no switch after EnsureSwitch")
	}
	isSocket := func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && st.Mode()&os.ModeSocket != 0
	}
	if !isSocket(s.SwitchSocket("lab", "n1")) {
		t.Fatalf("%s is not a socket", s.SwitchSocket("lab", "n1"))
	}
	if err := s.EnsureSwitch(ctx, "lab", prog, vmSocket); err != nil || s.SwitchPID("lab") != pid {
		t.Fatalf("a second EnsureSwitch restarted a switch serving the same members (%v)", err)
	}
	// A machine joins: the switch is restarted to serve it too.
	if _, _, _, err := s.Join(ctx, "lab", "n2"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureSwitch(ctx, "lab", prog, vmSocket); err != nil {
		t.Fatal(err)
	}
	pid2 := s.SwitchPID("lab")
	if pid2 == 0 || pid2 == pid || switchAlive(pid) {
		t.Fatalf("after a member joined: pid %d → %d (old alive: %v)", pid, pid2, switchAlive(pid))
	}
	if !isSocket(s.SwitchSocket("lab", "n2")) {
		t.Fatal("the new member's socket is not served")
	}
	cfg, err := ReadSwitchConfig(filepath.Join(s.Dir("lab"), SwitchConfigFile))
	if err != nil || len(cfg.Members) != 2 || cfg.Members[1].VMSocket != vmSocket("n2") || cfg.Domain != Domain {
		t.Fatalf("switch config %+v %v", cfg, err)
	}
	// Killed: SwitchPID says so at once, and EnsureSwitch starts another.
	if err := syscall.Kill(pid2, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); s.SwitchPID("lab") != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a killed switch still counts as running")
		}
	}
	if err := s.EnsureSwitch(ctx, "lab", prog, vmSocket); err != nil || s.SwitchPID("lab") == 0 {
		t.Fatalf("no switch after the kill: %v", err)
	}
	pid3 := s.SwitchPID("lab")
	if err := s.StopSwitch(ctx, "lab"); err != nil {
		t.Fatal(err)
	}
	if switchAlive(pid3) || s.SwitchPID("lab") != 0 {
		t.Fatal("the switch runs after StopSwitch")
	}
}

// A switch that cannot start is reported with its last log line, and
// leaves nothing running.
func TestSwitchThatFailsToStart(t *testing.T) {
	ctx := context.Background()
	home, err := os.MkdirTemp("", "tsw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	s := &Store{Home: home}
	if _, _, _, err := s.Join(ctx, "lab", "n1"); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), SwitchProgram)
	if err := os.WriteFile(bad, []byte("#!/bin/sh\necho 'tender-net: cannot bind: permission denied' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err = s.EnsureSwitch(ctx, "lab", bad, func(m string) string { return filepath.Join(home, m+"-vm.sock") })
	if err == nil || !strings.Contains(err.Error(), `network "lab": the switch (tender-net) did not start: tender-net: cannot bind: permission denied`) {
		t.Fatalf("EnsureSwitch with a failing switch: %v", err)
	}
	if s.SwitchPID("lab") != 0 {
		t.Fatal("a switch counts as running")
	}
}
