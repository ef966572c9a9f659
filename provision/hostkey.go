package provision

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
)

// For a server tender did not make (the ssh driver), the host key is not
// known in advance: init reads the one the server offers (ScanHostKey),
// shows its fingerprint for the user to confirm, or checks it against the
// one the user gave (MatchHostKey), and pins it from then on.

// errScanned ends a handshake once the host key has been seen.
var errScanned = errors.New("host key read")

// ScanHostKey connects to the sshd at addr and returns the host key it
// offers, without authenticating (nothing is sent but the handshake).
func ScanHostKey(ctx context.Context, addr string) (ssh.PublicKey, error) {
	var d net.Dialer
	tcp, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ssh to %s: %w", addr, err)
	}
	defer tcp.Close()
	stop := context.AfterFunc(ctx, func() { tcp.Close() })
	defer stop()
	var key ssh.PublicKey
	config := &ssh.ClientConfig{
		User: "tender-hostkey-scan",
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
			key = k
			return errScanned
		},
		// The key OpenSSH's own client prefers first.
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256},
	}
	_, _, _, err = ssh.NewClientConn(tcp, addr, config)
	if key != nil {
		return key, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("ssh to %s: %w", addr, context.Cause(ctx))
	}
	return nil, fmt.Errorf("ssh to %s: reading its host key: %w", addr, err)
}

// MatchHostKey checks the scanned key against what the user gave: a
// fingerprint as `ssh-keygen -lf` prints it ("SHA256:…"), or the key as in
// known_hosts or a .pub file ("ssh-ed25519 AAAA…", a host name first or not).
func MatchHostKey(scanned ssh.PublicKey, given string) error {
	given = strings.TrimSpace(given)
	if strings.HasPrefix(given, "SHA256:") {
		if got := ssh.FingerprintSHA256(scanned); got != given {
			return fmt.Errorf("%w: the server offered %s %s, --ssh-host-key is %s", ErrHostKeyMismatch, scanned.Type(), got, given)
		}
		return nil
	}
	want, err := parseGivenKey(given)
	if err != nil {
		return fmt.Errorf("--ssh-host-key: %w (give a SHA256: fingerprint, or a key as in known_hosts)", err)
	}
	if string(want.Marshal()) != string(scanned.Marshal()) {
		return fmt.Errorf("%w: the server offered %s %s, --ssh-host-key is %s %s", ErrHostKeyMismatch, scanned.Type(), ssh.FingerprintSHA256(scanned), want.Type(), ssh.FingerprintSHA256(want))
	}
	return nil
}

// parseGivenKey reads "TYPE BASE64 [comment]" or a known_hosts line.
func parseGivenKey(s string) (ssh.PublicKey, error) {
	if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s)); err == nil {
		return k, nil
	}
	_, _, k, _, _, err := ssh.ParseKnownHosts([]byte(s))
	if err != nil {
		return nil, errors.New("not a key")
	}
	return k, nil
}
