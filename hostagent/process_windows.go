package hostagent

import "os"

// Alive reports whether pid runs (Windows does not show another process's
// command line cheaply).
func Alive(pid int, name string) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid) // fails when there is no such process
	if err != nil {
		return false
	}
	p.Release()
	return true
}

// Terminate stops the host agent.
func Terminate(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
