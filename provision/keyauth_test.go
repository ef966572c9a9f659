//go:build unix

package provision

import (
	"encoding/pem"
	"github.com/tenderdev/tender/internal/testfakes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// A plain key file logs in as it is; a key with a passphrase logs in
// through an ssh-agent that holds it, and without one the error says to
// ssh-add it.
func TestKeyAuth(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	dir := t.TempDir()
	plain := filepath.Join(dir, "id_plain")
	if err := os.WriteFile(plain, s.UserKey, 0o600); err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(s.UserKey)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(raw, "test", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(dir, "id_locked")
	if err := os.WriteFile(locked, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) (string, bool) { return "", false }

	login := func(t *testing.T, path string, env func(string) (string, bool)) error {
		signer, done, err := KeyAuth(path, env)
		if err != nil {
			return err
		}
		defer done()
		c, err := DialSigner(t.Context(), s.Addr, GuestUser, signer, s.HostKey)
		if err != nil {
			return err
		}
		return c.Close()
	}
	if err := login(t, plain, noEnv); err != nil {
		t.Errorf("a plain key: %v", err)
	}
	if err := login(t, locked, noEnv); err == nil || !strings.Contains(err.Error(), "ssh-add "+locked) {
		t.Errorf("a key with a passphrase and no agent: %v, want the ssh-add hint", err)
	}

	// An agent that holds it.
	sockDir, err := os.MkdirTemp("", "ag") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockDir)
	sock := filepath.Join(sockDir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	keyring := agent.NewKeyring()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); agent.ServeAgent(keyring, c) }()
		}
	}()
	withAgent := func(k string) (string, bool) { return sock, k == "SSH_AUTH_SOCK" }
	if err := login(t, locked, withAgent); err == nil || !strings.Contains(err.Error(), "ssh-add") {
		t.Errorf("an agent without the key: %v, want the ssh-add hint", err)
	}
	if err := keyring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	if err := login(t, locked, withAgent); err != nil {
		t.Errorf("a key with a passphrase, held by the agent: %v", err)
	}

	if _, _, err := KeyAuth(filepath.Join(dir, "nosuch"), noEnv); err == nil || !strings.Contains(err.Error(), "--ssh-key") {
		t.Errorf("a missing key: %v, want an error naming --ssh-key", err)
	}
}
