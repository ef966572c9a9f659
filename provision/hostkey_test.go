//go:build unix

package provision

import (
	"context"
	"errors"
	"github.com/tenderdev/tender/internal/testfakes"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// ScanHostKey reads the key a server offers without logging in; a port
// where nothing speaks SSH is an error naming the address.
func TestScanHostKey(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	got, err := ScanHostKey(t.Context(), s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Marshal()) != string(s.HostKey.Marshal()) {
		t.Errorf("scanned %s, want %s", ssh.FingerprintSHA256(got), ssh.FingerprintSHA256(s.HostKey))
	}

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := ScanHostKey(ctx, silent.Addr().String()); err == nil || !strings.Contains(err.Error(), silent.Addr().String()) {
		t.Errorf("ScanHostKey of a web server = %v, want an error naming it", err)
	}
}

// The key the user gives is a fingerprint, a .pub line or a known_hosts
// line; another key is ErrHostKeyMismatch, nonsense an error naming the flag.
func TestMatchHostKey(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	other := testfakes.NewSSHServer(t, GuestUser)
	key := s.HostKey
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	for _, given := range []string{ssh.FingerprintSHA256(key), pub, pub + " root@server", "build.example.com " + pub} {
		if err := MatchHostKey(key, given); err != nil {
			t.Errorf("MatchHostKey(%q) = %v", given, err)
		}
	}
	otherPub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other.HostKey)))
	for _, given := range []string{ssh.FingerprintSHA256(other.HostKey), otherPub} {
		if err := MatchHostKey(key, given); !errors.Is(err, ErrHostKeyMismatch) {
			t.Errorf("MatchHostKey(another key %q) = %v, want ErrHostKeyMismatch", given, err)
		}
	}
	if err := MatchHostKey(key, "yes"); err == nil || !strings.Contains(err.Error(), "--ssh-host-key") {
		t.Errorf("MatchHostKey(nonsense) = %v, want an error naming --ssh-host-key", err)
	}
}
