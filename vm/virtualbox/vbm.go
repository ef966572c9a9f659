package virtualbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/tenderdev/tender/runner"
	"github.com/tenderdev/tender/vm"
)

// manage runs VBoxManage and knows its quirks:
//   - "The object is not ready" is transient (a session still closing): the
//     call is retried.
//   - A line with "error:" on stderr is a failure even with exit code 0
//     (VBoxManage.exe: error: VT-x is not available, on some versions).
//   - "Could not find a registered machine" becomes an *Error matching
//     vm.ErrNotFound.
//
// Its errors read `running VBoxManage startvm: exit status 1: <the first
// error line>`.
type manage struct {
	path   string
	goos   string
	runner runner.Runner
	unset  []string
	sleep  func(time.Duration)
	// retryLocked also retries "already locked" errors: used right after
	// the VM powered off, while VirtualBox may still hold its session.
	retryLocked bool
}

// Retries of a transient failure, and the pause between them.
const (
	retries    = 5
	retryPause = 500 * time.Millisecond
)

// Error is a VBoxManage failure. It does not unwrap to the
// *exec.ExitError inside: that type has an ExitCode method, and main would
// take it for the exit code the user asked for and hide the message.
type Error struct {
	Args   []string // VBoxManage's arguments
	Stderr string
	Err    error // the exit status, or nil when only stderr said "error:"
}

func (e *Error) Error() string {
	what := "running VBoxManage"
	if len(e.Args) > 0 {
		what += " " + e.Args[0]
	}
	msg := errorLine(e.Stderr)
	switch {
	case e.Err != nil && msg != "":
		return fmt.Sprintf("%s: %v: %s", what, exitStatus(e.Err), msg)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", what, e.Err)
	}
	return fmt.Sprintf("%s: %s", what, msg)
}

// Is makes a missing VM match vm.ErrNotFound.
func (e *Error) Is(target error) bool {
	return target == vm.ErrNotFound && notRegistered(e.Stderr)
}

func notRegistered(stderr string) bool {
	return strings.Contains(stderr, "Could not find a registered machine")
}

func notReady(stderr string) bool {
	return strings.Contains(stderr, "object is not ready")
}

func locked(stderr string) bool {
	return strings.Contains(stderr, "is already locked") || strings.Contains(stderr, "while it is locked")
}

func notRunning(stderr string) bool {
	return strings.Contains(stderr, "is not currently running")
}

// exitStatus is "exit status 1" from an error RunCall wrapped.
func exitStatus(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee
	}
	return err
}

// errorLine is the message of VBoxManage's first "error:" line, without
// the "VBoxManage: error: " prefix and the Details/Context lines that
// follow it; or the whole stderr when it has no such line.
func errorLine(stderr string) string {
	var first string
	for _, line := range strings.Split(stderr, "\n") {
		_, msg, ok := strings.Cut(line, "error: ")
		if !ok || strings.HasPrefix(msg, "Details:") || strings.HasPrefix(msg, "Context:") {
			continue
		}
		if first == "" {
			first = strings.TrimSpace(msg)
		}
	}
	if first != "" {
		return first
	}
	return strings.TrimSpace(stderr)
}

func hasErrorLine(stderr string) bool {
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "error:") {
			return true
		}
	}
	return false
}

// run runs VBoxManage with args and returns stdout.
func (m *manage) run(ctx context.Context, args ...string) (string, error) {
	return m.call(ctx, nil, args...)
}

// call runs VBoxManage, feeding stdin when it is not nil (no retry then:
// the stream is used up).
func (m *manage) call(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cr, ok := m.runner.(runner.CallRunner)
	if !ok {
		if stdin != nil {
			return "", fmt.Errorf("running VBoxManage %s: the runner cannot feed standard input", args[0])
		}
		return m.runner.Run(ctx, m.path, args...)
	}
	for attempt := 0; ; attempt++ {
		stdout, stderr, err := cr.RunCall(ctx, runner.Call{Stdin: stdin, Unset: m.unset}, m.path, args...)
		if err != nil && strings.Contains(err.Error(), "is not installed") {
			return "", fmt.Errorf("%w (%s, or use --driver qemu)", err, InstallHint(m.goos))
		}
		if err == nil && !hasErrorLine(stderr) {
			return stdout, nil
		}
		verr := &Error{Args: args, Stderr: stderr, Err: err}
		transient := notReady(stderr) || (m.retryLocked && locked(stderr))
		if stdin != nil || !transient || attempt >= retries || ctx.Err() != nil {
			return stdout, verr
		}
		m.pause(retryPause)
	}
}

func (m *manage) pause(d time.Duration) {
	if m.sleep != nil {
		m.sleep(d)
		return
	}
	time.Sleep(d)
}

// exactly reads exactly n bytes from r: it fails if r ends early, and never
// reads past n. convertfromraw stdin takes its size up front, and the
// Windows build demands that exactly that many bytes arrive.
type exactly struct {
	r    io.Reader
	left int64
}

func (e *exactly) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, fmt.Errorf("the disk stream ended %d bytes short", e.left)
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}
