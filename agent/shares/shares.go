// Package shares mounts the host folders the machine was created with: QEMU's
// virtio-9p exports and VirtualBox shared folders, each at the path the
// userdata names (by default the host's own path, so `docker run -v
// "$PWD:/src"` works from anywhere under the home directory).
package shares

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tenderdev/tender/agent/userdata"
)

// Tuning of 9p mounts. msize is the largest message: the kernel's virtio
// transport takes up to 512000 bytes, and large reads need few round trips
// through the (emulated) VM exit. The cache mode, measured under TCG (256 MB
// cold read; find+stat over 10,000 files cold; guest disk: 3.5 s and 2.7 s):
//
//	none   32.2 s (0.11×)   114 s (0.02×)
//	mmap    2.6 s (1.3×)    105 s (0.03×)   page cache and readahead for data
//	loose   1.7 s (2.0×)     19 s (0.14×)   metadata cached too, but a file
//	                                        the host appended to read stale
//
// mmap is the default: a file edited on the host must read right in a
// container at once, and mmap(2) (SQLite, linkers) must work.
const (
	MSize   = 512000 // the virtio transport's limit in 6.12
	Cache9p = "mmap"
)

// Options returns the filesystem type and mount data of a share.
func Options(sh userdata.Share) (fstype, data string, err error) {
	switch sh.Type {
	case "9p":
		return "9p", fmt.Sprintf("trans=virtio,version=9p2000.L,msize=%d,cache=%s,access=client", MSize, Cache9p), nil
	case "vboxsf":
		// vboxsf (Linux ≥ 5.6) takes text options; the host's ownership
		// cannot be mapped, so files show as root's, as in VirtualBox's own
		// guest additions.
		return "vboxsf", "", nil
	}
	return "", "", fmt.Errorf("share %q: unknown type %q", sh.Tag, sh.Type)
}

// ModulePatterns names the module files each share type needs, as they
// appear in the module list (paths under /lib/modules/VERSION).
var ModulePatterns = map[string][]string{
	"9p":     {"/fs/netfs/", "/net/9p/", "/fs/9p/"},
	"vboxsf": {"/virt/vboxguest/", "/fs/vboxsf/"},
}

// ModulesFor picks, from the module list, the modules the shares need, in
// list order (dependencies first).
func ModulesFor(list []string, shares []userdata.Share) []string {
	want := map[string]bool{}
	for _, sh := range shares {
		want[sh.Type] = true
	}
	var out []string
	for _, m := range list {
		for typ := range want {
			for _, p := range ModulePatterns[typ] {
				if strings.Contains("/"+m, p) {
					out = append(out, m)
				}
			}
		}
	}
	return out
}

// ReadModuleList reads the agent's module list format: a path a line,
// blank lines and # comments skipped.
func ReadModuleList(r io.Reader) []string {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// Mounter mounts shares; the fields are the system calls, so tests can
// record them.
type Mounter struct {
	ModulesFile string // e.g. /etc/tender/modules
	ModulesDir  string // /lib/modules/$(uname -r)
	LoadModule  func(path string) error
	Mount       func(source, target, fstype string, readOnly bool, data string) error
	Logf        func(format string, args ...any)
}

// MountAll loads the modules the shares need, then mounts each share,
// creating its target. One share failing does not stop the others; every
// failure is in the error.
func (m *Mounter) MountAll(ctx context.Context, shares []userdata.Share) error {
	if len(shares) == 0 {
		return nil
	}
	began := time.Now()
	var errs []error
	if f, err := os.Open(m.ModulesFile); err == nil {
		mods := ModulesFor(ReadModuleList(f), shares)
		f.Close()
		if err := m.loadAll(ctx, mods); err != nil {
			errs = append(errs, err)
		}
	} else {
		errs = append(errs, fmt.Errorf("shares: reading the module list: %w", err))
	}
	for _, sh := range shares {
		fstype, data, err := Options(sh)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.MkdirAll(sh.Target, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("shares: %w", err))
			continue
		}
		// A 9p device may show up a moment after its module loads.
		var merr error
		for try := 0; try < 20; try++ {
			if merr = m.Mount(sh.Tag, sh.Target, fstype, sh.ReadOnly, data); merr == nil || ctx.Err() != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if merr != nil {
			errs = append(errs, fmt.Errorf("shares: mounting %s share %q on %s: %w", sh.Type, sh.Tag, sh.Target, merr))
			continue
		}
		ro := ""
		if sh.ReadOnly {
			ro = " (read-only)"
		}
		m.Logf("shares: mounted %s %q on %s%s", sh.Type, sh.Tag, sh.Target, ro)
	}
	m.Logf("shares: done in %s", time.Since(began).Round(time.Millisecond))
	return errors.Join(errs...)
}

// loadAll loads mods, retrying those whose dependencies came later in the
// list, on a thread of low priority: the boot's critical path needs the CPU.
func (m *Mounter) loadAll(ctx context.Context, mods []string) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lowerPriority()
	pending := mods
	for len(pending) > 0 && ctx.Err() == nil {
		var retry []string
		var last error
		for _, mod := range pending {
			if err := m.LoadModule(filepath.Join(m.ModulesDir, mod)); err != nil {
				retry = append(retry, mod)
				last = err
			}
		}
		if len(retry) == len(pending) {
			return fmt.Errorf("shares: loading modules %v: %w", retry, last)
		}
		pending = retry
	}
	return nil
}
