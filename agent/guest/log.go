//go:build linux

package guest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/tenderdev/tender/agent/api"
	"golang.org/x/sys/unix"
)

// logger writes detail to agent.log and a few lines to the serial console.
// Before the data disk is mounted, file lines are kept in memory and written
// out when the log file opens.
type logger struct {
	mu      sync.Mutex
	console io.Writer // nil when /dev/console cannot be opened
	file    io.WriteCloser
	pending bytes.Buffer
}

func newLogger() *logger {
	l := &logger{}
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY|unix.O_NOCTTY, 0); err == nil {
		l.console = f
	} else {
		l.console = os.Stderr
	}
	return l
}

// Logf writes a line to agent.log only.
func (l *logger) Logf(format string, args ...any) {
	l.write(false, format, args...)
}

// Printf writes a line to the console (prefixed) and to agent.log.
func (l *logger) Printf(format string, args ...any) {
	l.write(true, format, args...)
}

// Console writes a console line made by package api (a phase, the ready
// line) to the console as it is and to agent.log without its prefix.
func (l *logger) Console(line string) {
	l.writeLine(line, strings.TrimPrefix(line, api.ConsolePrefix))
}

func (l *logger) write(console bool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if console {
		l.writeLine(api.ConsoleLine(msg), msg)
	} else {
		l.writeLine("", msg)
	}
}

// writeLine writes consoleLine (unless empty) to the console and msg to
// agent.log, stamped with the uptime.
func (l *logger) writeLine(consoleLine, msg string) {
	stamp := fmt.Sprintf("[%8.3f] ", uptime())
	l.mu.Lock()
	defer l.mu.Unlock()
	if consoleLine != "" && l.console != nil {
		io.WriteString(l.console, consoleLine+"\n")
	}
	line := stamp + msg + "\n"
	if l.file != nil {
		io.WriteString(l.file, line)
	} else if l.pending.Len() < 1<<20 {
		l.pending.WriteString(line)
	}
}

// setFile starts writing agent.log to path, beginning with what was logged
// so far.
func (l *logger) setFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		l.file.Close()
	}
	l.file = f
	_, err = f.Write(l.pending.Bytes())
	l.pending.Reset()
	return err
}

// closeFile stops file logging, so that the disk can be unmounted.
func (l *logger) closeFile() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		l.file.Close()
		l.file = nil
	}
}

// uptime is the number of seconds since boot from /proc/uptime, 0 if unknown.
func uptime() float64 {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	v, _ := parseUptime(string(b))
	return v
}

func parseUptime(s string) (float64, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return 0, fmt.Errorf("empty /proc/uptime")
	}
	return strconv.ParseFloat(fields[0], 64)
}
