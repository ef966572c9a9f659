//go:build unix

package provision

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderdev/tender/internal/testfakes"
)

// probeServer is the test sshd with a PATH of only id and sed, and docker
// when withCLI: what ProbeDocker's script needs, and no host docker CLI.
func probeServer(t *testing.T, withCLI bool) *testfakes.SSHServer {
	t.Helper()
	s := testfakes.NewSSHServer(t, GuestUser)
	bin := t.TempDir()
	for _, tool := range []string{"id", "sed"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	if withCLI {
		if err := os.WriteFile(filepath.Join(bin, "docker"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.Env = []string{"PATH=" + bin}
	return s
}

// dockerSocket serves a Docker-like /_ping ("OK" when healthy, 500 when not)
// on a unix socket and returns its path.
func dockerSocket(t *testing.T, healthy bool) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dp") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/_ping" || !healthy {
			http.Error(w, "daemon is shutting down", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("OK"))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return path
}

// ProbeDocker takes the first socket that answers, and otherwise says in one
// line what is missing on the server and how to fix it. (The case of a
// socket the user may not use is not tried here: the test runs as root, for
// whom every socket is usable.)
func TestProbeDocker(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.sock")
	good := dockerSocket(t, true)
	sick := dockerSocket(t, false)
	for _, tc := range []struct {
		name     string
		cli      bool
		sockets  []string
		want     string // the socket found, or
		wantErrs []string
	}{
		{"the first that answers", true, []string{missing, sick, good}, good, nil},
		{"an engine that fails", true, []string{missing, sick}, "", []string{"does not answer on " + sick, "500", "systemctl start docker"}},
		{"installed, not running", true, []string{missing}, "", []string{"has Docker installed but not running", missing, "systemctl start docker"}},
		{"not installed", false, []string{missing}, "", []string{"the server has no Docker", "--install-docker"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialTest(t, probeServer(t, tc.cli))
			got, err := ProbeDocker(t.Context(), c, tc.sockets)
			if tc.want != "" {
				if err != nil || got != tc.want {
					t.Errorf("ProbeDocker = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ProbeDocker = %q, want an error", got)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("the error is more than one line: %q", err)
			}
			for _, w := range tc.wantErrs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ProbeDocker error %q does not say %q", err, w)
				}
			}
		})
	}
}
