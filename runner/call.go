package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tenderdev/tender/shellquote"
)

// Call is what a run needs beyond its argv: standard input, and environment
// variables to remove for the child (VirtualBox on macOS breaks when it
// inherits DYLD_LIBRARY_PATH).
type Call struct {
	Stdin io.Reader
	Unset []string
}

// CallRunner is a Runner that can also feed standard input, remove
// environment variables, and hand back standard error even when the program
// succeeds (VBoxManage sometimes reports a failure on stderr with exit code 0).
// Exec implements it; recording runners in tests do too.
type CallRunner interface {
	Runner
	RunCall(ctx context.Context, c Call, name string, args ...string) (stdout, stderr string, err error)
}

var _ CallRunner = Exec{}

// RunCall runs name with args, with c's stdin and environment, and returns
// its stdout and stderr; it is the one place Exec starts a program, Run
// included. The run ends at e.Timeout (when set) or with ctx. A failure names
// the program by its base name and its first argument, with stderr trimmed:
// `running VBoxManage startvm: exit status 1: <stderr>`; one that timed out
// adds why (`signal: killed (context deadline exceeded)`). A program that is
// not on PATH gives `NAME is not installed: <InstallHint[NAME]>`, NAME being
// the base name without ".exe".
func (e Exec) RunCall(ctx context.Context, c Call, name string, args ...string) (string, string, error) {
	if e.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.Timeout)
		defer cancel()
	}
	if e.Verbose != nil {
		fmt.Fprintf(e.Verbose, "+ %s\n", shellquote.Join(append([]string{name}, args...)))
	}
	cmd := exec.CommandContext(ctx, name, args...)
	if e.Env != nil || len(c.Unset) > 0 {
		cmd.Env = withoutVars(append(cmd.Environ(), e.Env...), c.Unset)
	}
	cmd.Stdin = c.Stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.String(), stderr.String(), nil
	}
	base := strings.TrimSuffix(filepath.Base(name), ".exe")
	if errors.Is(err, exec.ErrNotFound) {
		if hint := e.InstallHint[base]; hint != "" {
			return "", "", fmt.Errorf("%s is not installed: %s", base, hint)
		}
		return "", "", fmt.Errorf("%s is not installed or not on PATH", base)
	}
	what := base
	if len(args) > 0 {
		what += " " + args[0]
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", err, ctx.Err())
	}
	msg := strings.TrimSpace(stderr.String())
	if msg == "" {
		return stdout.String(), stderr.String(), fmt.Errorf("running %s: %w", what, err)
	}
	return stdout.String(), stderr.String(), fmt.Errorf("running %s: %w: %s", what, err, msg)
}

// withoutVars drops every KEY=… entry of env whose KEY is in unset.
func withoutVars(env, unset []string) []string {
	if len(unset) == 0 {
		return env
	}
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, u := range unset {
			if k == u {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
