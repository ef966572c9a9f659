//go:build !windows

package network

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
