package runner

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// StartDetached starts name with args as a background process that outlives
// tender (its own session, no terminal), with stdout and stderr appended to
// logPath and stdin from the null device. It returns the child's pid.
func StartDetached(logPath, name string, args ...string) (int, error) {
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("starting %s: %w", filepath.Base(name), err)
	}
	defer log.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = detachedAttr()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", filepath.Base(name), err)
	}
	pid := cmd.Process.Pid
	// Not waited for: it runs on after tender exits (and init reaps it).
	_ = cmd.Process.Release()
	return pid, nil
}
