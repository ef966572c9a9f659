//go:build unix

package provision

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderdev/tender/agent/api"

	"github.com/tenderdev/tender/internal/testfakes"
)

// fakeGuestTools puts a sudo that just runs its arguments and a tender-agent
// (at the guest's api.AgentPath)
// that logs its arguments (and fails when agentFails) first in the test
// server's PATH, and gives the server a TMPDIR of its own. It returns the
// agent log and the TMPDIR.
func fakeGuestTools(t *testing.T, s *testfakes.SSHServer, agentFails bool) (agentLog, tmp string) {
	t.Helper()
	bin := t.TempDir()
	tmp = t.TempDir()
	agentLog = filepath.Join(t.TempDir(), "agent.log")
	agent := "#!/bin/sh\necho \"$@\" >> '" + agentLog + "'\n"
	if agentFails {
		agent += "echo 'dockerd did not come back' >&2\nexit 1\n"
	}
	for name, script := range map[string]string{
		"sudo":         "#!/bin/sh\n[ \"$1\" = -n ] && shift\nexec \"$@\"\n",
		"tender-agent": agent,
	} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "TMPDIR=" + tmp}
	s.Paths = map[string]string{api.AgentPath: filepath.Join(bin, "tender-agent")}
	return agentLog, tmp
}

func TestInstallServerCerts(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	agentLog, tmp := fakeGuestTools(t, s, false)
	c := dialTest(t, s)
	dir := filepath.Join(t.TempDir(), "var lib", "tls")
	ca, cert, key := []byte("CA PEM\n"), []byte("SERVER PEM\n"), []byte("KEY PEM\n")
	if err := installServerCerts(t.Context(), c, dir, ca, cert, key); err != nil {
		t.Fatalf("installServerCerts: %v", err)
	}
	for _, f := range []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{"ca.pem", ca, 0o644},
		{"server.pem", cert, 0o644},
		{"server-key.pem", key, 0o600},
	} {
		p := filepath.Join(dir, f.name)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(f.data) {
			t.Errorf("%s holds %q, want %q", f.name, data, f.data)
		}
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != f.perm {
			t.Errorf("%s has mode %v, want %v", f.name, info.Mode().Perm(), f.perm)
		}
	}
	log, err := os.ReadFile(agentLog)
	if err != nil || string(log) != "restart-docker\n" {
		t.Errorf("tender-agent ran with %q (%v), want restart-docker once", log, err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the temporary directory was left behind in the guest: %v", left)
	}
}

func TestInstallServerCertsReportsAFailedRestart(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	_, tmp := fakeGuestTools(t, s, true)
	c := dialTest(t, s)
	err := installServerCerts(t.Context(), c, filepath.Join(t.TempDir(), "tls"), []byte("a"), []byte("b"), []byte("c"))
	if err == nil || !strings.Contains(err.Error(), "restarting docker") || !strings.Contains(err.Error(), "dockerd did not come back") {
		t.Fatalf("installServerCerts = %v, want the restart failure with its stderr", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the temporary directory was left behind in the guest after a failure: %v", left)
	}
	if err := InstallServerCerts(t.Context(), c, nil, []byte("b"), []byte("c")); err == nil {
		t.Error("InstallServerCerts accepted an empty CA")
	}
}

func TestUploadRejectsPaths(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	c := dialTest(t, s)
	err := c.Upload(t.Context(), s.Home, []RemoteFile{{Name: "../escape", Data: []byte("x"), Mode: 0o644}})
	if err == nil || !strings.Contains(err.Error(), "plain file name") {
		t.Fatalf("Upload(../escape) = %v, want a refusal", err)
	}
}
