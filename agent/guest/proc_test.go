//go:build linux

package guest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testProcs is the one reaper of the test binary: like PID 1, a process
// must have a single wait4(-1) loop, or one table reaps another's children.
var testProcs = sync.OnceValue(func() *procTable {
	p := newProcTable()
	go p.reapLoop()
	return p
})

func TestProcTableRun(t *testing.T) {
	p := testProcs()
	out, err := p.run(context.Background(), "sh", "-c", "echo hello; echo oops >&2; exit 3")
	var ee *exitError
	if !errors.As(err, &ee) || ee.status.ExitStatus() != 3 {
		t.Fatalf("run = %v, want exit status 3", err)
	}
	if out != "hello\noops\n" || err.Error() != "running sh: exit status 3: oops" {
		t.Errorf("output %q, error %q", out, err)
	}
	if out, err := p.run(context.Background(), "true"); err != nil || out != "" {
		t.Errorf("true: %q, %v", out, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := p.run(ctx, "sleep", "10"); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("sleep past the deadline: %v", err)
	}
}

func TestServiceRestartsAndStops(t *testing.T) {
	p := testProcs()
	l := &logger{console: nil}
	var starts atomic.Int32
	s := newService("sleeper", p, l, func() (*exec.Cmd, error) {
		starts.Add(1)
		cmd := exec.Command("sleep", "30")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		return cmd, nil
	})
	go s.run()
	<-s.started
	began := time.Now()
	s.restart(5 * time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		running := s.proc != nil
		s.mu.Unlock()
		if running && starts.Load() == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not restarted: %d starts", starts.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("restart took %s: it must not wait for the backoff", d)
	}
	s.stop(5 * time.Second)
	time.Sleep(100 * time.Millisecond)
	if n := starts.Load(); n != 2 {
		t.Errorf("started %d times, want 2 (stop must not restart)", n)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !strings.Contains(l.pending.String(), "sleeper stopped") {
		t.Errorf("log = %q", l.pending.String())
	}
}
