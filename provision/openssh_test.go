//go:build unix

package provision

import (
	"bytes"
	"errors"
	"github.com/tenderdev/tender/internal/testfakes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestPlainOpenSSHUsesTheFiles checks the point of ssh_config and
// known_hosts: plain `ssh -F ssh_config tender-NAME` gets in, with the pinned
// key, from a directory whose name needs quoting.
func TestPlainOpenSSHUsesTheFiles(t *testing.T) {
	sshPath, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("no OpenSSH client here")
	}
	s := testfakes.NewSSHServer(t, GuestUser)
	dir := filepath.Join(t.TempDir(), `Jane Doe's 100% "tender"`)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	identity := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(identity, s.UserKey, 0o600); err != nil {
		t.Fatal(err)
	}
	alias := "tender-test"
	knownHosts := filepath.Join(dir, "known_hosts")
	if err := WriteKnownHosts(knownHosts, alias, s.HostKey); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "ssh_config")
	_, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	portNum, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteSSHConfig(config, SSHConfig{Alias: alias, Port: portNum, IdentityFile: identity, KnownHostsFile: knownHosts}); err != nil {
		t.Fatal(err)
	}

	run := func(t *testing.T, configPath string) (string, int, string) {
		cmd := exec.Command(sshPath, "-F", configPath, "-o", "BatchMode=yes", alias, "echo hello from openssh; exit 3")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return stdout.String(), cmd.ProcessState.ExitCode(), stderr.String()
	}
	out, code, stderr := run(t, config)
	if out != "hello from openssh\n" || code != 3 {
		t.Fatalf("ssh -F ssh_config = %q, exit %d (stderr %q); want the greeting and exit 3", out, code, stderr)
	}

	// With another host key pinned, OpenSSH refuses to connect.
	other, err := NewSSHKey("impostor")
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, err := ssh.ParsePrivateKey(other.PrivatePEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteKnownHosts(knownHosts, alias, otherSigner.PublicKey()); err != nil {
		t.Fatal(err)
	}
	out, code, _ = run(t, config)
	if code != 255 || out != "" {
		t.Fatalf("ssh with a wrong pinned key = %q, exit %d; want exit 255 and no output", out, code)
	}
}
