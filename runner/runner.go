// Package runner is the one place tender starts other programs. Everything
// else is handed a Runner, so tests can record and script the calls.
package runner

import (
	"context"
	"io"
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

// Run runs name with args and returns its standard output: RunCall with no
// stdin and no variables removed, its stderr kept only for the error.
func (e Exec) Run(ctx context.Context, name string, args ...string) (string, error) {
	stdout, _, err := e.RunCall(ctx, Call{}, name, args...)
	return stdout, err
}
