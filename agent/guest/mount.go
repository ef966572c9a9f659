//go:build linux

package guest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

type mountSpec struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
}

const (
	nsd  = unix.MS_NOSUID | unix.MS_NODEV
	nsde = nsd | unix.MS_NOEXEC
)

// earlyMounts are mounted, in order, unless the initramfs already did.
var earlyMounts = []mountSpec{
	{"proc", "/proc", "proc", nsde, ""},
	{"sysfs", "/sys", "sysfs", nsde, ""},
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
	{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666"},
	{"tmpfs", "/dev/shm", "tmpfs", nsd, "mode=1777"},
	{"tmpfs", "/run", "tmpfs", nsd, "mode=0755,size=10%"},
	{"tmpfs", "/tmp", "tmpfs", nsd, "mode=1777"},
	{"cgroup2", "/sys/fs/cgroup", "cgroup2", nsde, "nsdelegate"},
}

// mountEarly mounts the kernel filesystems and run directories, makes the
// mount tree shared (as container runtimes expect of an init) and enables
// every cgroup controller for docker.
func mountEarly() error {
	var errs []error
	mounted := map[string]bool{}
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		for _, m := range parseMountinfo(f) {
			mounted[m.target] = true
		}
		f.Close()
	}
	for _, m := range earlyMounts {
		if mounted[m.target] {
			continue
		}
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil && !errors.Is(err, unix.EBUSY) {
			errs = append(errs, fmt.Errorf("mounting %s on %s: %w", m.fstype, m.target, err))
		}
	}
	for name, target := range map[string]string{"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0", "/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2"} {
		if _, err := os.Lstat(name); err != nil {
			_ = os.Symlink(target, name)
		}
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		errs = append(errs, fmt.Errorf("making / shared: %w", err))
	}
	if err := tuneMemory(); err != nil {
		errs = append(errs, err)
	}
	if err := enableControllers("/sys/fs/cgroup"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// tuneMemory keeps a small VM's memory for its work: transparent huge
// pages only where asked for (Go daemons otherwise hold whole 2 MiB pages),
// and the free-memory reserve back to what a machine this size gets without
// THP (THP raises it to ~45 MiB on 1 GiB).
func tuneMemory() error {
	var errs []error
	if err := os.WriteFile("/sys/kernel/mm/transparent_hugepage/enabled", []byte("madvise"), 0o644); err != nil {
		errs = append(errs, fmt.Errorf("setting THP to madvise: %w", err))
	}
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	var totalKiB int
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "MemTotal:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				totalKiB, _ = strconv.Atoi(f[1])
			}
		}
	}
	if kib := minFreeKiB(totalKiB); kib > 0 {
		if err := os.WriteFile("/proc/sys/vm/min_free_kbytes", []byte(strconv.Itoa(kib)), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("setting min_free_kbytes: %w", err))
		}
	}
	const ratioFile = "/proc/sys/vm/lowmem_reserve_ratio"
	if cur, err := os.ReadFile(ratioFile); err != nil {
		errs = append(errs, err)
	} else if v, ok := noDMAReserve(string(cur)); ok {
		if err := os.WriteFile(ratioFile, []byte(v), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("setting lowmem_reserve_ratio: %w", err))
		}
	}
	return errors.Join(errs...)
}

// noDMAReserve returns lowmem_reserve_ratio (one ratio per zone, ZONE_DMA
// first) with ZONE_DMA's set to 0, which keeps no part of it back from
// ordinary allocations. The kernel holds back 1/256 of all memory above
// 16 MiB there (7.7 MiB of a 2 GiB guest, counted as used) for ISA-era
// devices that can only address 16 MiB; a tender guest has virtio, AHCI and
// e1000, which address all of it. ok is false when there is nothing to do.
func noDMAReserve(cur string) (string, bool) {
	f := strings.Fields(cur)
	if len(f) == 0 || f[0] == "0" {
		return "", false
	}
	f[0] = "0"
	return strings.Join(f, " "), true
}

// minFreeKiB is the kernel's own formula without THP: sqrt(16 × memory in
// KiB), clamped to [128 KiB, 256 MiB].
func minFreeKiB(totalKiB int) int {
	if totalKiB <= 0 {
		return 0
	}
	v := int(math.Sqrt(float64(totalKiB) * 16))
	return min(max(v, 128), 262144)
}

// enableControllers turns on, for the children of the cgroup at dir, every
// controller the kernel offers there.
func enableControllers(dir string) error {
	b, err := os.ReadFile(dir + "/cgroup.controllers")
	if err != nil {
		return fmt.Errorf("reading cgroup controllers: %w", err)
	}
	var failed []string
	for _, c := range strings.Fields(string(b)) {
		if err := os.WriteFile(dir+"/cgroup.subtree_control", []byte("+"+c), 0o644); err != nil {
			failed = append(failed, c)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("enabling cgroup controllers %s failed", strings.Join(failed, ", "))
	}
	return nil
}

type mountEntry struct {
	target, fstype, source string
}

// parseMountinfo reads /proc/self/mountinfo, in mount order.
func parseMountinfo(r io.Reader) []mountEntry {
	var out []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
		left, right, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		lf, rf := strings.Fields(left), strings.Fields(right)
		if len(lf) < 5 || len(rf) < 2 {
			continue
		}
		out = append(out, mountEntry{target: unescapeMount(lf[4]), fstype: rf[0], source: unescapeMount(rf[1])})
	}
	return out
}

// unescapeMount undoes the kernel's octal escapes (\040 for space, …).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountOrder lists what shutdown unmounts, deepest and newest first: every
// mount except the root and the kernel filesystems the system still needs to
// power off.
func unmountOrder(mounts []mountEntry) []string {
	keep := func(t string) bool {
		if t == "/" {
			return true
		}
		for _, p := range []string{"/proc", "/sys", "/dev"} {
			if t == p || strings.HasPrefix(t, p+"/") {
				return true
			}
		}
		return false
	}
	var out []string
	for i := len(mounts) - 1; i >= 0; i-- {
		if !keep(mounts[i].target) {
			out = append(out, mounts[i].target)
		}
	}
	return out
}
