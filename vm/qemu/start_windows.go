package qemu

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/windows"

	"github.com/tenderdev/tender/vm"
)

// startDetached starts QEMU on Windows, which has no -daemonize and no unix
// socket chardev: it picks a free 127.0.0.1 port for QMP (recorded in
// qmp.port), starts QEMU in a new process group with no console, its stderr
// going to qemu.stderr, and waits until the monitor answers. If QEMU exits
// first, its stderr is the error. This bypasses the runner, which only
// knows how to run a program to completion; it is untested on a real
// Windows host.
func (d *Driver) startDetached(ctx context.Context, s vm.Spec, host Host) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("finding a port for QMP: %w", err)
	}
	host.QMPPort = l.Addr().(*net.TCPAddr).Port
	l.Close()
	boot, err := kernelBoot(s, host)
	if err != nil {
		return err
	}
	argv, err := Cmdline(s, host, boot)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, QMPPortFile), []byte(strconv.Itoa(host.QMPPort)+"\n"), 0o600); err != nil {
		return err
	}
	stderrPath := filepath.Join(s.Dir, StderrFile)
	errf, err := os.Create(stderrPath)
	if err != nil {
		return err
	}
	defer errf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = errf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		CreationFlags: windows.CREATE_NEW_PROCESS_GROUP | windows.DETACHED_PROCESS,
		HideWindow:    true,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting QEMU for %q: %w", s.Name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	addr := "127.0.0.1:" + strconv.Itoa(host.QMPPort)
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			msg, _ := os.ReadFile(stderrPath)
			return startError(s, fmt.Errorf("running %s: %v: %s", filepath.Base(argv[0]), err, strings.TrimSpace(string(msg))))
		case <-ctx.Done():
			cmd.Process.Kill()
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("QEMU for %q started but its monitor did not answer on %s", s.Name, addr)
		}
	}
}
