package provision

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// defaultTerm is sent when the host's TERM is unset, as on Windows consoles,
// which understand xterm sequences once virtual terminal processing is on.
const defaultTerm = "xterm-256color"

// Shell starts the guest user's login shell. When stdin is a terminal it is
// interactive: stdin goes into raw mode (restored on every return), the guest
// gets a PTY of the terminal's size and TERM, and window resizes follow.
// Otherwise the shell reads commands from stdin without a PTY, as
// `ssh host < script` does. It returns the shell's exit status.
//
// It needs no OpenSSH on the host, Windows included.
func (c *Client) Shell(ctx context.Context, stdin *os.File, stdout, stderr io.Writer) (code int, err error) {
	s, err := c.conn.NewSession()
	if err != nil {
		return -1, fmt.Errorf("ssh: opening session: %w", err)
	}
	defer s.Close()
	s.Stdout, s.Stderr = stdout, stderr
	if stdin != nil {
		s.Stdin = stdin
	}

	inFd := -1
	if stdin != nil && term.IsTerminal(int(stdin.Fd())) {
		inFd = int(stdin.Fd())
	}
	if inFd < 0 {
		if err := s.Shell(); err != nil {
			return -1, fmt.Errorf("ssh: starting shell: %w", err)
		}
		return waitSession(ctx, s, "shell")
	}

	// The size comes from the output side when it is a terminal: on
	// Windows only a console output handle has one.
	outFd := -1
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		outFd = int(f.Fd())
	}
	sizeFd := inFd
	if outFd >= 0 {
		sizeFd = outFd
	}
	width, height, err := term.GetSize(sizeFd)
	if err != nil {
		width, height = 80, 24
	}
	termName := os.Getenv("TERM")
	if termName == "" {
		termName = defaultTerm
	}
	modes := ssh.TerminalModes{
		ssh.ECHO:          1,
		ssh.TTY_OP_ISPEED: 38400,
		ssh.TTY_OP_OSPEED: 38400,
	}
	if err := s.RequestPty(termName, height, width, modes); err != nil {
		return -1, fmt.Errorf("ssh: requesting a terminal: %w", err)
	}

	if outFd >= 0 {
		restoreOut, err := enableTerminalOutput(outFd)
		if err != nil {
			return -1, err
		}
		defer restoreOut()
	}
	old, err := term.MakeRaw(inFd)
	if err != nil {
		return -1, fmt.Errorf("putting the terminal in raw mode: %w", err)
	}
	defer func() { _ = term.Restore(inFd, old) }()

	if err := s.Shell(); err != nil {
		return -1, fmt.Errorf("ssh: starting shell: %w", err)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go watchResize(watchCtx, sizeFd, width, height, func(w, h int) {
		_ = s.WindowChange(h, w)
	})
	return waitSession(ctx, s, "shell")
}
