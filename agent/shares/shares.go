//go:build linux

// Package shares mounts the host folders the machine was created with: QEMU's
// virtiofs or virtio-9p exports and VirtualBox shared folders, each at the
// path the userdata names (by default the host's own path, so `docker run -v
// "$PWD:/src"` works from anywhere under the home directory).
//
// A QEMU share's type in the userdata is what the host offered at init. The
// host picks again at every start (share_type, and whether it finds
// virtiofsd), so the guest looks at the virtio devices present and mounts a
// QEMU share with the type the host offers this boot.
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
	"slices"
	"strings"
	"time"

	"github.com/tenderdev/tender/agent/api"
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
// container at once, and mmap(2) (SQLite, linkers) must work. Its metadata
// cost is round trips, not their latency: without cached dentries every
// stat walks each component of the path again (stat of 100 files by
// absolute path 0.6–0.9 s, by relative path 0.36 s, guest disk 0.07 s), and
// 6.12's 9p has no time-limited metadata cache between mmap and loose.
//
// virtiofs (see vm/qemu: virtiofsd -o cache=auto, which lets the guest keep
// entries and attributes 1 s) is why the host prefers it: same machine,
// guest disk vs share, cold, ms (the host was busy, so ratios matter):
//
//	9p mmap                 read 8159/5170 (1.6×)  find+stat 3659/77730 (0.05×)
//	virtiofs cache=auto     read 2250/2090 (1.1×)  find+stat 1729/1750  (0.99×)
//	virtiofs cache=always   read 5489/3490 (1.6×)  find+stat 3429/3690  (0.93×)
//	virtiofs cache=none     read 3679/879  (4.2×)  find+stat 2679/39180 (0.07×)
//	virtiofs auto,timeout=0 read 4590/5379 (0.9×)  find+stat 2820/97680 (0.03×)
//
// With cache=auto a file the host rewrites may read with its old size for
// up to 1 s (measured: a read 0.1 s after the host grew a file returned its
// old length of new bytes; 1.2 s later it read right).
const (
	MSize   = 512000 // the virtio transport's limit in 6.12
	Cache9p = "mmap"
)

// Options returns the filesystem type and mount data of a share.
func Options(sh api.Share) (fstype, data string, err error) {
	switch sh.Type {
	case api.Share9p:
		return "9p", fmt.Sprintf("trans=virtio,version=9p2000.L,msize=%d,cache=%s,access=client", MSize, Cache9p), nil
	case api.ShareVirtiofs:
		// Caching is virtiofsd's choice (its -o cache=, see vm/qemu): the
		// guest takes the entry and attribute timeouts it is told.
		return "virtiofs", "", nil
	case api.ShareVboxsf:
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
	api.Share9p:       {"/fs/netfs/", "/net/9p/", "/fs/9p/"},
	api.ShareVirtiofs: {"/fs/fuse/"}, // fuse.ko, virtiofs.ko
	api.ShareVboxsf:   {"/virt/vboxguest/", "/fs/vboxsf/"},
}

// Virtio device ids (virtio 1.2, section 5) of QEMU's two share devices.
const (
	virtioID9p = 9
	virtioIDFS = 26
)

// HostTypes lists the types to try for a share, in order, given the virtio
// device ids present: the userdata's type, unless the host offers only the
// other QEMU type this boot; when it offers both (read-only shares stay on
// 9p), the userdata's first, then the other. vboxsf shares, and QEMU shares
// when no device list could be read, keep their type.
func HostTypes(typ string, devices []int) []string {
	if typ != api.Share9p && typ != api.ShareVirtiofs {
		return []string{typ}
	}
	has := map[string]bool{
		api.Share9p:       slices.Contains(devices, virtioID9p),
		api.ShareVirtiofs: slices.Contains(devices, virtioIDFS),
	}
	other := api.Share9p
	if typ == api.Share9p {
		other = api.ShareVirtiofs
	}
	switch {
	case has[other] && !has[typ]:
		return []string{other}
	case has[other] && has[typ]:
		return []string{typ, other}
	}
	return []string{typ}
}

// ModulesFor picks, from the module list, the modules the share types need,
// in list order (dependencies first).
func ModulesFor(list []string, types []string) []string {
	var out []string
	for _, m := range list {
		for _, typ := range types {
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
	// VirtioDevices lists the device ids of the virtio devices present
	// (/sys/bus/virtio/devices/*/device); nil means none are known.
	VirtioDevices func() []int
	LoadModule    func(path string) error
	Mount         func(source, target, fstype string, readOnly bool, data string) error
	Logf          func(format string, args ...any)
}

// MountAll loads the modules the shares need, then mounts each share,
// creating its target. One share failing does not stop the others; every
// failure is in the error.
func (m *Mounter) MountAll(ctx context.Context, shares []api.Share) error {
	if len(shares) == 0 {
		return nil
	}
	began := time.Now()
	var devices []int
	if m.VirtioDevices != nil {
		devices = m.VirtioDevices()
	}
	tries := make([][]string, len(shares))
	var types []string
	for i, sh := range shares {
		tries[i] = HostTypes(sh.Type, devices)
		for _, t := range tries[i] {
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	var errs []error
	if f, err := os.Open(m.ModulesFile); err == nil {
		mods := ModulesFor(ReadModuleList(f), types)
		f.Close()
		if err := m.loadAll(ctx, mods); err != nil {
			errs = append(errs, err)
		}
	} else {
		errs = append(errs, fmt.Errorf("shares: reading the module list: %w", err))
	}
	for i, sh := range shares {
		if err := os.MkdirAll(sh.Target, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("shares: %w", err))
			continue
		}
		typ, err := m.mount(ctx, sh, tries[i])
		if err != nil {
			errs = append(errs, fmt.Errorf("shares: mounting %s share %q on %s: %w", strings.Join(tries[i], " or "), sh.Tag, sh.Target, err))
			continue
		}
		ro := ""
		if sh.ReadOnly {
			ro = " (read-only)"
		}
		m.Logf("shares: mounted %s %q on %s%s", typ, sh.Tag, sh.Target, ro)
	}
	m.Logf("shares: done in %s", time.Since(began).Round(time.Millisecond))
	return errors.Join(errs...)
}

// mount mounts sh with the first of types that works, and returns it.
func (m *Mounter) mount(ctx context.Context, sh api.Share, types []string) (string, error) {
	var err error
	// A device may show up a moment after its module loads.
	for try := 0; try < 20; try++ {
		for _, typ := range types {
			sh.Type = typ
			fstype, data, oerr := Options(sh)
			if oerr != nil {
				return "", oerr
			}
			if err = m.Mount(sh.Tag, sh.Target, fstype, sh.ReadOnly, data); err == nil {
				return typ, nil
			}
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", err
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
