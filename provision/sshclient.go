package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/shellquote"
	"golang.org/x/crypto/ssh"
)

// GuestUser is the account tender logs in as; it is in the docker group and
// may sudo.
const GuestUser = "docker"

// GuestHome is the home directory of GuestUser, where relative guest paths
// point.
const GuestHome = "/home/docker"

// ErrHostKeyMismatch means the guest offered a host key other than the one
// generated for it at init: something else answers on the port.
var ErrHostKeyMismatch = errors.New("ssh host key mismatch")

// waitAttemptTimeout bounds one connection attempt in WaitForSSH: while the
// guest boots, QEMU's port forward accepts connections that nothing answers.
const waitAttemptTimeout = 15 * time.Second

// waitRetryInterval is the pause between attempts in WaitForSSH.
const waitRetryInterval = 250 * time.Millisecond

// Client is an SSH connection to a guest. It is safe for concurrent use; each
// method opens its own session.
type Client struct {
	conn *ssh.Client
}

// Dial connects to the guest's sshd at addr as user with the OpenSSH private
// key keyPEM, accepting only hostKey: the host generated the guest's host key
// at init, so it is known before the first boot and never learned on first
// use. ctx bounds the TCP connect and the SSH handshake.
func Dial(ctx context.Context, addr, user string, keyPEM []byte, hostKey ssh.PublicKey) (*Client, error) {
	config, err := clientConfig(user, keyPEM, hostKey)
	if err != nil {
		return nil, err
	}
	return dial(ctx, addr, config)
}

// DialSigner is Dial with a signer (KeyAuth: a key of the user's, perhaps
// held by their ssh-agent) instead of a key file's contents.
func DialSigner(ctx context.Context, addr, user string, signer ssh.Signer, hostKey ssh.PublicKey) (*Client, error) {
	config, err := signerConfig(user, signer, hostKey)
	if err != nil {
		return nil, err
	}
	return dial(ctx, addr, config)
}

func dial(ctx context.Context, addr string, config *ssh.ClientConfig) (*Client, error) {
	var d net.Dialer
	tcp, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ssh to %s: %w", addr, err)
	}
	// The handshake does not take a context: closing the connection is
	// what interrupts it.
	stop := context.AfterFunc(ctx, func() { tcp.Close() })
	conn, chans, reqs, err := ssh.NewClientConn(tcp, addr, config)
	if !stop() {
		if err == nil {
			conn.Close()
		}
		return nil, fmt.Errorf("ssh to %s: %w", addr, context.Cause(ctx))
	}
	if err != nil {
		tcp.Close()
		return nil, fmt.Errorf("ssh to %s: %w", addr, err)
	}
	return &Client{conn: ssh.NewClient(conn, chans, reqs)}, nil
}

// clientConfig is the one way tender authenticates: one key, one pinned host
// key, nothing else.
func clientConfig(user string, keyPEM []byte, hostKey ssh.PublicKey) (*ssh.ClientConfig, error) {
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("ssh: reading private key: %w", err)
	}
	return signerConfig(user, signer, hostKey)
}

func signerConfig(user string, signer ssh.Signer, hostKey ssh.PublicKey) (*ssh.ClientConfig, error) {
	if hostKey == nil {
		return nil, errors.New("ssh: no host key to pin")
	}
	fixed := ssh.FixedHostKey(hostKey)
	return &ssh.ClientConfig{
		User: user,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			if err := fixed(hostname, remote, key); err != nil {
				return fmt.Errorf("%w: %s offered %s %s, expected %s", ErrHostKeyMismatch,
					hostname, key.Type(), ssh.FingerprintSHA256(key), ssh.FingerprintSHA256(hostKey))
			}
			return nil
		},
		// Ask only for the pinned key's algorithm, so that a server with
		// several host keys presents the one we know.
		HostKeyAlgorithms: hostKeyAlgorithms(hostKey),
	}, nil
}

// hostKeyAlgorithms lists the signature algorithms that can verify key.
func hostKeyAlgorithms(key ssh.PublicKey) []string {
	if key.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{key.Type()}
}

// WaitForSSH dials the guest until it answers or ctx ends, for `up` while
// the guest boots. A host key mismatch is not retried. When ctx ends the
// error wraps both ctx's cause and the last connection error.
func WaitForSSH(ctx context.Context, addr, user string, keyPEM []byte, hostKey ssh.PublicKey) (*Client, error) {
	if _, err := clientConfig(user, keyPEM, hostKey); err != nil {
		return nil, err
	}
	var last error
	for {
		attempt, cancel := context.WithTimeout(ctx, waitAttemptTimeout)
		c, err := Dial(attempt, addr, user, keyPEM, hostKey)
		cancel()
		if err == nil {
			return c, nil
		}
		if errors.Is(err, ErrHostKeyMismatch) {
			return nil, err
		}
		if ctx.Err() == nil {
			last = err
		}
		t := time.NewTimer(waitRetryInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			if last == nil {
				return nil, fmt.Errorf("waiting for ssh on %s: %w", addr, context.Cause(ctx))
			}
			return nil, fmt.Errorf("waiting for ssh on %s: %w (last attempt: %w)", addr, context.Cause(ctx), last)
		case <-t.C:
		}
	}
}

// DialRemote opens a connection from the other end: network "unix" to the
// socket at addr there (OpenSSH's direct-streamlocal, as `ssh -L
// local:/path`; for the ssh driver, the server's /var/run/docker.sock,
// which never listens on a network), "tcp" to addr as the other end sees
// it (direct-tcpip: 127.0.0.1:P is the server's loopback).
func (c *Client) DialRemote(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := c.conn.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("opening %s over ssh: %w", addr, err)
	}
	return conn, nil
}

// Close closes the connection.
func (c *Client) Close() error {
	return c.conn.Close()
}

// Run runs cmd in the guest (through the login shell of the user, like
// `ssh host cmd`) with stdin, stdout and stderr connected; nil stdin reads as
// empty, nil writers discard. It returns the remote exit status: a command
// that ran and failed is a non-zero code and a nil error. An error means the
// command's status is unknown (the connection broke, ctx ended, the guest
// sent no status).
func (c *Client) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	s, err := c.conn.NewSession()
	if err != nil {
		return -1, fmt.Errorf("ssh: opening session: %w", err)
	}
	defer s.Close()
	s.Stdin, s.Stdout, s.Stderr = stdin, stdout, stderr
	if err := s.Start(cmd); err != nil {
		return -1, fmt.Errorf("ssh: starting %q: %w", cmd, err)
	}
	return waitSession(ctx, s, cmd)
}

// Output runs cmd with no stdin and returns its stdout. A non-zero exit is an
// error carrying the command's stderr.
func (c *Client) Output(ctx context.Context, cmd string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	code, err := c.Run(ctx, cmd, nil, &stdout, &stderr)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("running %q in the guest: exit status %d: %s", cmd, code, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// Agent runs one of the guest agent's commands and returns its stdout, as
// Output does.
func (c *Client) Agent(ctx context.Context, call api.Call) ([]byte, error) {
	return c.Output(ctx, AgentCommandLine(call))
}

// AgentCommandLine is call as a command line for the guest's shell.
func AgentCommandLine(call api.Call) string { return shellquote.Join(call.Argv()) }

// waitSession waits for a started session and turns its end into an exit
// code. When ctx ends first it closes the session.
func waitSession(ctx context.Context, s *ssh.Session, what string) (int, error) {
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		return exitCode(err, what)
	case <-ctx.Done():
		// Not every sshd honours signals; closing the channel is what
		// ends the session for sure.
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
		return -1, fmt.Errorf("ssh: %q: %w", what, context.Cause(ctx))
	}
}

// exitCode maps the end of a session to (status, error).
func exitCode(err error, what string) (int, error) {
	var exit *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitStatus(), nil
	case errors.As(err, &missing):
		return -1, fmt.Errorf("ssh: %q ended without an exit status: %w", what, err)
	default:
		return -1, fmt.Errorf("ssh: %q: %w", what, err)
	}
}
