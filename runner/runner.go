// Package runner is the one place tender starts other programs. Everything
// else is handed a Runner, so tests can record and script the calls.
package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// Runner runs a program and returns its standard output.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) (stdout string, err error)
}

// Exec runs real programs with a timeout per call. When Verbose is set, each
// command line is echoed to it before it runs (tender --verbose).
type Exec struct {
	Timeout time.Duration // 0 means no timeout beyond ctx
	Verbose io.Writer
	Env     []string // extra KEY=VALUE pairs; nil keeps the environment
	// InstallHint maps a program name to the advice printed when it is missing.
	InstallHint map[string]string
}

// Run runs name with args. The error reads
// `running NAME ARG1: exit status 1: <stderr>`, and a missing program says
// how to install it when InstallHint knows.
func (e Exec) Run(ctx context.Context, name string, args ...string) (string, error) {
	if e.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.Timeout)
		defer cancel()
	}
	if e.Verbose != nil {
		fmt.Fprintf(e.Verbose, "+ %s\n", Quote(append([]string{name}, args...)))
	}
	cmd := exec.CommandContext(ctx, name, args...)
	if e.Env != nil {
		cmd.Env = append(cmd.Environ(), e.Env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			if hint := e.InstallHint[name]; hint != "" {
				return "", fmt.Errorf("%s is not installed: %s", name, hint)
			}
			return "", fmt.Errorf("%s is not installed or not on PATH", name)
		}
		what := name
		if len(args) > 0 {
			what += " " + args[0]
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return stdout.String(), fmt.Errorf("running %s: %w", what, err)
		}
		return stdout.String(), fmt.Errorf("running %s: %w: %s", what, err, msg)
	}
	return stdout.String(), nil
}

// Quote renders argv the way a POSIX shell would need it, for logs.
func Quote(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r == '-' || r == '_' || r == '.' || r == '/' || r == ':' || r == '=' || r == ',' ||
				r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) < 0 {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
