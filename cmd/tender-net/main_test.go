//go:build !windows

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenderdev/tender/network"
)

func TestBadInputIsOneLineAndExit1(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.json")
	if err := os.WriteFile(garbage, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	invalid := filepath.Join(dir, "invalid.json")
	if err := network.WriteSwitchConfig(invalid, &network.SwitchConfig{Name: "lab", Subnet: "192.168.127.0/24", Gateway: "192.168.127.1", Domain: "tender.internal", PIDFile: "/x.pid"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{nil, "tender-net: --config FILE is required (usage: tender-net --config FILE)"},
		{[]string{"--bogus"}, "tender-net: flag provided but not defined: -bogus (usage: tender-net --config FILE)"},
		{[]string{"--config", garbage, "extra"}, `tender-net: unexpected argument "extra" (usage: tender-net --config FILE)`},
		{[]string{"--config", filepath.Join(dir, "none.json")}, "tender-net: reading the switch configuration: open " + filepath.Join(dir, "none.json") + ": no such file or directory"},
		{[]string{"--config", garbage}, "tender-net: reading the switch configuration: " + garbage + ": unexpected end of JSON input"},
		{[]string{"--config", invalid}, "tender-net: " + invalid + ": field `mtu` must be from 576 to 65535, got 0; field `members` must list at least one machine"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if got := stderr.String(); got != tt.want+"\n" {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, tt.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout: %q", stdout.String())
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	version, commit, date = "1.2.3", "0123456789ab", "2026-12-06T00:00:00Z"
	defer func() { version, commit, date = "dev", "", "" }()
	if code := run([]string{"--version"}, &stdout, &stderr); code != 0 || stderr.Len() > 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if got, want := stdout.String(), "tender-net 1.2.3 (commit 0123456789ab, built 2026-12-06T00:00:00Z)\n"; got != want {
		t.Errorf("--version printed %q, want %q", got, want)
	}
}

// tender-net serves until SIGTERM, then exits 0, its PID file and sockets
// gone.
func TestServesUntilSIGTERM(t *testing.T) {
	dir := t.TempDir()
	c := &network.SwitchConfig{
		Name: "lab", Subnet: "192.168.127.0/24", Gateway: "192.168.127.1", Domain: "tender.internal", MTU: 1500,
		PIDFile: filepath.Join(dir, "switch.pid"),
		Members: []network.Member{{Machine: "n1", MAC: "52:54:00:00:00:02", Address: "192.168.127.2",
			VMSocket: filepath.Join(dir, "n1.vm"), SwitchSocket: filepath.Join(dir, "n1.sw")}},
	}
	path := filepath.Join(dir, "switch.json")
	if err := network.WriteSwitchConfig(path, c); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run([]string{"--config", path}, &stdout, &stderr) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(c.PIDFile)
		if err == nil && strings.TrimSpace(string(b)) == fmt.Sprint(os.Getpid()) {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("exited %d before it was ready: %s", code, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no PID file")
		}
	}
	// run's signal handler is in place: the PID file is written after it.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after SIGTERM, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still running 5s after SIGTERM")
	}
	for _, f := range []string{c.PIDFile, c.Members[0].SwitchSocket} {
		if _, err := os.Lstat(f); !os.IsNotExist(err) {
			t.Errorf("%s after exit: %v", f, err)
		}
	}
	if !strings.Contains(stderr.String(), `switch ready`) || !strings.Contains(stderr.String(), `switch stopped`) {
		t.Errorf("log:\n%s", stderr.String())
	}
}
