//go:build linux

package guest

import (
	"context"
	"errors"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Shutdown budget, from the moment shutdown starts: QEMU must exit within
// 15 s of the power button. Containers get stopGrace (docker then kills
// them), dockerd the time left until dockerdDeadline, every other process
// until killDeadline; then sync, unmount and power off.
const (
	containersDeadline = stopGrace + time.Second
	dockerdDeadline    = stopGrace + 2000*time.Millisecond
	killDeadline       = stopGrace + 2500*time.Millisecond
)

// shutdown stops everything cleanly and powers off.
func (a *agent) shutdown(reason string) {
	a.shutdownOnce.Do(func() {
		began := time.Now()
		left := func(deadline time.Duration) time.Duration {
			return max(deadline-time.Since(began), 200*time.Millisecond)
		}
		a.log.Printf("shutting down (%s)", reason)
		a.cancel()
		a.mu.Lock()
		sshd, containerd, dockerd := a.sshd, a.containerd, a.dockerd
		a.mu.Unlock()

		sshdDone := make(chan struct{})
		go func() {
			if sshd != nil {
				sshd.stop(time.Second)
			}
			close(sshdDone)
		}()
		if dockerd != nil {
			ctx, cancel := context.WithTimeout(context.Background(), containersDeadline)
			if pingDocker(ctx) {
				n, err := stopContainers(ctx, stopGrace)
				if err != nil {
					a.log.Logf("stopping containers: %v", err)
				} else {
					a.log.Logf("stopped %d containers in %s", n, time.Since(began).Round(time.Millisecond))
				}
			}
			cancel()
			dockerd.stop(left(dockerdDeadline))
			a.log.Logf("dockerd down at %s", time.Since(began).Round(time.Millisecond))
		}
		if containerd != nil {
			containerd.stop(left(dockerdDeadline + 500*time.Millisecond))
		}
		<-sshdDone
		killAll(left(killDeadline))
		a.procs.reap()

		a.log.Logf("unmounting at %s", time.Since(began).Round(time.Millisecond))
		a.log.closeFile()
		unix.Sync()
		if err := unmountAll(); err != nil {
			a.log.Printf("%v", err)
		}
		unix.Sync()
		a.log.Printf("power off")
		if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
			a.log.Printf("powering off: %v", err)
		}
	})
	select {} // PID 1 must never exit
}

// killAll sends SIGTERM to every process but PID 1, waits up to timeout for
// them to go, then SIGKILLs the rest.
func killAll(timeout time.Duration) {
	_ = unix.Kill(-1, unix.SIGTERM)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !anyOtherProcess() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = unix.Kill(-1, unix.SIGKILL)
	time.Sleep(100 * time.Millisecond)
}

// anyOtherProcess reports whether a user-space process other than PID 1 is
// alive (kernel threads have no cmdline).
func anyOtherProcess() bool {
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && len(b) > 0 {
			return true
		}
	}
	return false
}

// unmountAll unmounts all but the root and kernel filesystems, newest
// first. The data disk, if still busy, is remounted read-only so that
// nothing is lost at power-off.
func unmountAll() error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	mounts := parseMountinfo(f)
	f.Close()
	var errs []error
	for _, target := range unmountOrder(mounts) {
		if err := unix.Unmount(target, 0); err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			continue
		}
		if target == DataMount {
			if err := unix.Mount("", target, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				errs = append(errs, errors.New("data disk busy and cannot be made read-only: "+err.Error()))
			}
			continue
		}
		// Detach what is busy; the data disk below is then made read-only.
		_ = unix.Unmount(target, unix.MNT_DETACH)
	}
	return errors.Join(errs...)
}
