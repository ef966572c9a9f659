//go:build linux

package guest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// procTable is PID 1's child bookkeeping. As init, the agent must reap every
// orphan (wait4(-1)), which would steal exit statuses from exec.Cmd.Wait; so
// every child the agent starts goes through start, and the reaper hands its
// status to whoever waits for it.
type procTable struct {
	mu      sync.Mutex
	waiters map[int]chan unix.WaitStatus
}

func newProcTable() *procTable {
	return &procTable{waiters: map[int]chan unix.WaitStatus{}}
}

// reapLoop reaps on every SIGCHLD, and every few seconds in case one is lost.
func (p *procTable) reapLoop() {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, unix.SIGCHLD)
	tick := time.NewTicker(5 * time.Second)
	for {
		select {
		case <-ch:
		case <-tick.C:
		}
		p.reap()
	}
}

func (p *procTable) reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
		if ch, ok := p.waiters[pid]; ok {
			ch <- ws
			delete(p.waiters, pid)
		}
	}
}

// start starts cmd, whose Stdin/Stdout/Stderr must be nil or *os.File (no
// copying goroutines: nobody calls cmd.Wait). The channel gets the exit
// status.
func (p *procTable) start(cmd *exec.Cmd) (<-chan unix.WaitStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ch := make(chan unix.WaitStatus, 1)
	p.waiters[cmd.Process.Pid] = ch
	return ch, nil
}

// run runs a short command and returns its combined output; the error says
// the exit status and the output's last line.
func (p *procTable) run(ctx context.Context, name string, args ...string) (string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.Env = childEnv()
	done, err := p.start(cmd)
	w.Close()
	if err != nil {
		r.Close()
		return "", fmt.Errorf("running %s: %w", name, err)
	}
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		io.Copy(&out, r)
		r.Close()
		close(copied)
	}()
	var ws unix.WaitStatus
	select {
	case ws = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGKILL)
		ws = <-done
	}
	cmd.Process.Release()
	<-copied
	text := out.String()
	if ws.Exited() && ws.ExitStatus() == 0 {
		return text, nil
	}
	return text, &exitError{name: name, status: ws, output: text}
}

// exitError is a command that ran and failed.
type exitError struct {
	name   string
	status unix.WaitStatus
	output string
}

func (e *exitError) Error() string {
	var how string
	if e.status.Signaled() {
		how = "killed by " + e.status.Signal().String()
	} else {
		how = fmt.Sprintf("exit status %d", e.status.ExitStatus())
	}
	last := strings.TrimSpace(e.output)
	if i := strings.LastIndexByte(last, '\n'); i >= 0 {
		last = last[i+1:]
	}
	if last == "" {
		return fmt.Sprintf("running %s: %s", e.name, how)
	}
	return fmt.Sprintf("running %s: %s: %s", e.name, how, last)
}

// childEnv is the environment of every program the agent starts.
func childEnv() []string {
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root",
		"LANG=C.UTF-8",
	}
}

// service keeps one long-running program alive: it restarts it when it
// dies, with a growing delay, until stopped.
type service struct {
	name  string
	procs *procTable
	log   *logger
	// newCmd makes a fresh command for each start (its output files opened).
	newCmd func() (*exec.Cmd, error)

	mu      sync.Mutex
	proc    *os.Process
	exited  chan struct{} // closed when proc exits
	stopped bool
	now     bool          // restart at once: the exit was asked for
	started chan struct{} // closed at the first start
}

func newService(name string, procs *procTable, log *logger, newCmd func() (*exec.Cmd, error)) *service {
	return &service{name: name, procs: procs, log: log, newCmd: newCmd, started: make(chan struct{})}
}

// run supervises until stop; call it in its own goroutine.
func (s *service) run() {
	delay := time.Second
	first := true
	failures := 0 // in a row; only the first reaches the console
	say := func(format string, args ...any) {
		failures++
		if failures == 1 {
			s.log.Printf(format, args...)
		} else {
			s.log.Logf(format, args...)
		}
	}
	for {
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			return
		}
		cmd, err := s.newCmd()
		var done <-chan unix.WaitStatus
		if err == nil {
			done, err = s.procs.start(cmd)
		}
		if err != nil {
			s.mu.Unlock()
			say("starting %s: %v (retrying in %s)", s.name, err, delay)
			time.Sleep(delay)
			delay = min(2*delay, 30*time.Second)
			continue
		}
		s.proc = cmd.Process
		exited := make(chan struct{})
		s.exited = exited
		s.mu.Unlock()
		if first {
			close(s.started)
			first = false
		}
		s.log.Logf("%s started, pid %d", s.name, cmd.Process.Pid)
		began := time.Now()
		ws := <-done
		cmd.Process.Release()
		for _, f := range []any{cmd.Stdout, cmd.Stderr} {
			if f, ok := f.(*os.File); ok {
				f.Close()
			}
		}
		close(exited)
		s.mu.Lock()
		stopped, now := s.stopped, s.now
		s.proc, s.now = nil, false
		s.mu.Unlock()
		if stopped {
			s.log.Logf("%s stopped (%s)", s.name, describe(ws))
			return
		}
		if now {
			s.log.Logf("%s exited (%s); restarting as asked", s.name, describe(ws))
			continue
		}
		if time.Since(began) > time.Minute {
			delay, failures = time.Second, 0
		}
		say("%s exited (%s); restarting in %s", s.name, describe(ws), delay)
		time.Sleep(delay)
		delay = min(2*delay, 30*time.Second)
	}
}

// signal sends sig to the running process, if any, and returns the channel
// closed when that process exits (nil when none runs).
func (s *service) signal(sig os.Signal) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	_ = s.proc.Signal(sig)
	return s.exited
}

// restart stops the running process so run starts a new one at once.
func (s *service) restart(timeout time.Duration) {
	s.mu.Lock()
	s.now = true
	s.mu.Unlock()
	if exited := s.signal(syscall.SIGTERM); exited != nil {
		select {
		case <-exited:
		case <-time.After(timeout):
			s.signal(syscall.SIGKILL)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				s.log.Printf("%s did not exit after SIGKILL", s.name)
			}
		}
	}
}

// stop ends supervision: SIGTERM, then SIGKILL after timeout.
func (s *service) stop(timeout time.Duration) {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.restart(timeout)
}

func describe(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}
