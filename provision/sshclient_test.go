//go:build unix

package provision

import (
	"bytes"
	"context"
	"errors"
	"github.com/tenderdev/tender/internal/testfakes"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestRunPassesStreamsAndExitStatus(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	c := dialTest(t, s)
	tests := []struct {
		name, cmd, stdin   string
		wantCode           int
		wantOut, wantErrol string
	}{
		{name: "success", cmd: "echo out; echo err >&2", wantOut: "out\n", wantErrol: "err\n"},
		{name: "stdin", cmd: "tr a-z A-Z", stdin: "hello\nworld\n", wantOut: "HELLO\nWORLD\n"},
		{name: "exit 7", cmd: "echo partial; exit 7", wantCode: 7, wantOut: "partial\n"},
		{name: "unknown command", cmd: "no-such-command-tender", wantCode: 127},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code, err := c.Run(t.Context(), tt.cmd, strings.NewReader(tt.stdin), &stdout, &stderr)
			if err != nil {
				t.Fatalf("Run(%q): %v", tt.cmd, err)
			}
			if code != tt.wantCode {
				t.Errorf("Run(%q) exit code = %d, want %d (stderr %q)", tt.cmd, code, tt.wantCode, stderr.String())
			}
			if got := stdout.String(); got != tt.wantOut {
				t.Errorf("Run(%q) stdout = %q, want %q", tt.cmd, got, tt.wantOut)
			}
			if tt.wantErrol != "" && stderr.String() != tt.wantErrol {
				t.Errorf("Run(%q) stderr = %q, want %q", tt.cmd, stderr.String(), tt.wantErrol)
			}
		})
	}
}

func TestRunNilStreams(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	c := dialTest(t, s)
	code, err := c.Run(t.Context(), "cat; echo ignored; exit 3", nil, nil, nil)
	if err != nil || code != 3 {
		t.Fatalf("Run with nil streams = %d, %v; want 3, nil", code, err)
	}
}

func TestRunKilledBySignal(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	c := dialTest(t, s)
	// The shell kills itself; the server reports exit-signal KILL, which
	// ssh turns into 128+9 as a shell would.
	code, err := c.Run(t.Context(), "kill -9 $$", nil, nil, nil)
	if err != nil || code != 137 {
		t.Fatalf("Run = %d, %v; want 137, nil", code, err)
	}
}

func TestRunMissingExitStatusIsAnError(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	c := dialTest(t, s)
	code, err := c.Run(t.Context(), testfakes.NoStatusCommand, nil, nil, nil)
	var missing *ssh.ExitMissingError
	if !errors.As(err, &missing) || code != -1 {
		t.Fatalf("Run = %d, %v; want -1 and an ExitMissingError", code, err)
	}
}

func TestRunHonoursContext(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	c := dialTest(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Run(ctx, "sleep 30", nil, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run after the deadline = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run returned after %v, want soon after the deadline", d)
	}
}

func TestOutput(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	c := dialTest(t, s)
	out, err := c.Output(t.Context(), "printf ok")
	if err != nil || string(out) != "ok" {
		t.Fatalf("Output = %q, %v", out, err)
	}
	_, err = c.Output(t.Context(), "echo boom >&2; exit 2")
	if err == nil || !strings.Contains(err.Error(), "exit status 2: boom") {
		t.Fatalf("Output of a failing command = %v, want exit status 2 with its stderr", err)
	}
}

func TestDialRefusesWrongHostKey(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	other, err := NewSSHKey("impostor")
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, _, _, err := ssh.ParseAuthorizedKey(other.Public)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(t.Context(), s.Addr, GuestUser, s.UserKey, otherPub)
	if err == nil {
		c.Close()
		t.Fatal("Dial accepted a host key other than the pinned one")
	}
	if !errors.Is(err, ErrHostKeyMismatch) {
		t.Fatalf("Dial error = %v, want ErrHostKeyMismatch", err)
	}
	// WaitForSSH gives up at once: retrying cannot fix a wrong key.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := WaitForSSH(ctx, s.Addr, GuestUser, s.UserKey, otherPub); !errors.Is(err, ErrHostKeyMismatch) {
		t.Fatalf("WaitForSSH error = %v, want ErrHostKeyMismatch", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("WaitForSSH retried a host key mismatch for %v", d)
	}
}

func TestDialRefusesWrongClientKey(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	other, err := NewSSHKey("stranger")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(t.Context(), s.Addr, GuestUser, other.PrivatePEM, s.HostKey)
	if err == nil {
		c.Close()
		t.Fatal("Dial succeeded with a key the server does not accept")
	}
	if !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("Dial error = %v, want an authentication failure", err)
	}
	if _, err := Dial(t.Context(), s.Addr, GuestUser, []byte("not a key"), s.HostKey); err == nil {
		t.Fatal("Dial accepted a malformed private key")
	}
}

func TestWaitForSSHRetriesUntilTheGuestAnswers(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	// Nothing listens on this address yet: take a port, free it, and start
	// answering on it after a while, as a booting guest does.
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	proxyAfter(t, 1500*time.Millisecond, addr, s.Addr)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := WaitForSSH(ctx, addr, GuestUser, s.UserKey, s.HostKey)
	if err != nil {
		t.Fatalf("WaitForSSH: %v", err)
	}
	defer c.Close()
	if out, err := c.Output(ctx, "echo up"); err != nil || string(out) != "up\n" {
		t.Fatalf("after WaitForSSH, Output = %q, %v", out, err)
	}
}

func TestWaitForSSHGivesUpWithTheLastError(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	_, err = WaitForSSH(ctx, addr, GuestUser, s.UserKey, s.HostKey)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("WaitForSSH on a dead port = %v, want DeadlineExceeded and the last dial error", err)
	}
}

func TestShellWithoutTerminal(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	c := dialTest(t, s)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := w.WriteString("echo hello from the shell\necho oops >&2\nexit 5\n"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var stdout, stderr bytes.Buffer
	code, err := c.Shell(t.Context(), r, &stdout, &stderr)
	if err != nil {
		t.Fatalf("Shell: %v", err)
	}
	if code != 5 {
		t.Errorf("Shell exit code = %d, want 5", code)
	}
	if stdout.String() != "hello from the shell\n" || stderr.String() != "oops\n" {
		t.Errorf("Shell stdout, stderr = %q, %q", stdout.String(), stderr.String())
	}
	if len(s.PTYs()) != 0 {
		t.Errorf("Shell requested a pty (%q) though stdin is not a terminal", s.PTYs())
	}
}
