//go:build linux

package guest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tenderdev/tender/agent/kmod"
)

// ModulesFile lists the kernel modules to load, one path a line relative to
// /lib/modules/$(uname -r), dependencies first.
const ModulesFile = "/etc/tender/modules"

// parseModules reads ModulesFile's format: blank lines and # comments are
// skipped.
func parseModules(r io.Reader) []string {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// Module tiers, loaded in this order. Loading a module takes a few hundred
// milliseconds under emulation, so only the first tier holds the boot up:
// the second loads while the disk and network come up and dockerd waits for
// it; the third (shared folders, …) is not waited for at all.
const (
	tierBoot   = iota // disk, NIC, ext4, power button: drivers, libraries, crypto
	tierDocker        // netfilter, bridge, veth, overlay
	tierRest
)

// moduleTier says which tier a module path belongs to.
func moduleTier(m string) int {
	for _, p := range []string{"kernel/drivers/", "kernel/lib/", "kernel/crypto/", "kernel/arch/",
		"kernel/fs/ext4/", "kernel/fs/jbd2/", "kernel/fs/mbcache", "kernel/net/core/failover"} {
		if strings.HasPrefix(m, p) {
			return tierBoot
		}
	}
	if strings.HasPrefix(m, "kernel/net/") && !strings.HasPrefix(m, "kernel/net/9p/") || strings.HasPrefix(m, "kernel/fs/overlayfs/") {
		return tierDocker
	}
	return tierRest
}

// splitModules sorts list into tiers, keeping the file's order in each.
func splitModules(list []string) [3][]string {
	var tiers [3][]string
	for _, m := range list {
		t := moduleTier(m)
		tiers[t] = append(tiers[t], m)
	}
	return tiers
}

// loadModules loads every module in list from dir with up to workers in
// flight. A module whose dependency is not loaded yet fails with ENOENT; it
// is retried in the next round, so the list order is a hint, not a must.
//
// nice > 0 runs the loads on OS threads of that niceness: finit_module does
// its work in the caller's thread, so background tiers then yield the
// (emulated, scarce) CPUs to the boot's critical path.
func loadModules(dir string, list []string, workers, nice int, slow func(string, time.Duration)) error {
	var errs []error
	pending := list
	for len(pending) > 0 {
		var (
			mu    sync.Mutex
			retry []string
			wg    sync.WaitGroup
			sem   = make(chan struct{}, workers)
		)
		for _, m := range pending {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if nice > 0 {
					lowerPriority(nice)
				}
				began := time.Now()
				err := kmod.Load(filepath.Join(dir, m))
				if d := time.Since(began); d > 100*time.Millisecond && slow != nil {
					slow(m, d)
				}
				if err == nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if errors.Is(err, kmod.ErrUnknownSymbol) {
					retry = append(retry, m)
				} else {
					errs = append(errs, err)
				}
			}()
		}
		wg.Wait()
		if len(retry) == len(pending) {
			for _, m := range retry {
				errs = append(errs, fmt.Errorf("loading %s: unknown symbols (is a dependency missing from %s?)", m, ModulesFile))
			}
			break
		}
		pending = retry
	}
	return errors.Join(errs...)
}

// lowerPriority gives the calling goroutine an OS thread of its own with
// the given niceness. The thread is never unlocked, so it exits with the
// goroutine instead of going back to the runtime's pool niced.
func lowerPriority(nice int) {
	runtime.LockOSThread()
	// On Linux, PRIO_PROCESS with who 0 sets only the calling thread.
	_ = unix.Setpriority(unix.PRIO_PROCESS, 0, nice)
}
