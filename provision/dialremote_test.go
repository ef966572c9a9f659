//go:build unix

package provision

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderdev/tender/internal/testfakes"
)

// DialRemote reaches a unix socket on the server's side, both ways; a socket
// that is not there is one error naming it.
func TestDialRemote(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	c := dialTest(t, s)
	dir, err := os.MkdirTemp("", "du") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go testfakes.ServeLines(l, "sock:")

	conn, err := c.DialRemote(t.Context(), "unix", path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := testfakes.AskLine(conn, "ping")
	conn.Close()
	if err != nil || got != "sock:ping\n" {
		t.Errorf("over DialRemote: %q, %v; want %q", got, err, "sock:ping\n")
	}

	missing := filepath.Join(dir, "nosuch.sock")
	if _, err := c.DialRemote(t.Context(), "unix", missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("DialRemote of a missing socket = %v, want an error naming it", err)
	}
}

// DialRemote "tcp" reaches an address as the server sees it: its
// 127.0.0.1 (here the test server's stand-in loopback, 127.0.0.2).
func TestDialRemoteTCP(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	s.LoopbackAs = "127.0.0.2"
	c := dialTest(t, s)
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 here: %v", err)
	}
	defer l.Close()
	go testfakes.ServeLines(l, "server:")
	_, port, _ := net.SplitHostPort(l.Addr().String())
	conn, err := c.DialRemote(t.Context(), "tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got, err := testfakes.AskLine(conn, "ping"); err != nil || got != "server:ping\n" {
		t.Errorf("over DialRemote tcp: %q, %v", got, err)
	}
}
