//go:build linux

package initramfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// findMedium polls the block devices until one holds an iso9660 filesystem
// with RootImage, and leaves it mounted read-only on ISOMount. It returns the
// device and its volume ID, or after timeout an error saying what each
// device held.
func findMedium(timeout, interval time.Duration) (dev, label string, err error) {
	if err := os.MkdirAll(ISOMount, 0o755); err != nil {
		return "", "", fmt.Errorf("creating %s: %w", ISOMount, err)
	}
	seen := map[string]string{} // device → why it is not the medium
	deadline := time.Now().Add(timeout)
	for {
		for _, name := range candidates() {
			if _, done := seen[name]; done && !strings.HasPrefix(seen[name], "retry: ") {
				continue
			}
			label, why := tryMedium("/dev/" + name)
			if why == "" {
				return "/dev/" + name, label, nil
			}
			seen[name] = why
		}
		if time.Now().After(deadline) {
			return "", "", fmt.Errorf("no boot medium with %s after %s (%s)", RootImage, timeout, describe(seen))
		}
		time.Sleep(interval)
	}
}

// candidates lists the /sys/block entries that may hold the medium, CDs first.
func candidates() []string {
	ents, err := os.ReadDir("/sys/block")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range ents {
		if IsCandidate(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.SliceStable(names, func(i, j int) bool {
		return strings.HasPrefix(names[i], "sr") && !strings.HasPrefix(names[j], "sr")
	})
	return names
}

// tryMedium mounts dev on ISOMount if it is the medium and returns its volume
// ID, or says why it is not; reasons starting "retry: " may change later
// (no disc yet, device node not there yet).
func tryMedium(dev string) (label, why string) {
	buf, err := readStart(dev, ProbeSize)
	if err != nil {
		return "", "retry: " + err.Error()
	}
	fsType, label := DetectFS(buf)
	switch fsType {
	case FSISO9660:
	case FSExt:
		return "", fmt.Sprintf("ext filesystem %q", label)
	default:
		return "", "no iso9660 filesystem"
	}
	if err := unix.Mount(dev, ISOMount, "iso9660", unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOSUID, ""); err != nil {
		return "", fmt.Sprintf("retry: mounting iso9660 %q: %v", label, err)
	}
	if _, err := os.Stat(ISOMount + RootImage); err != nil {
		_ = unix.Unmount(ISOMount, 0)
		return "", fmt.Sprintf("iso9660 %q without %s", label, RootImage)
	}
	return label, ""
}

func readStart(dev string, n int) ([]byte, error) {
	f, err := os.Open(dev)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	m, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	return buf[:m], nil
}

func describe(seen map[string]string) string {
	if len(seen) == 0 {
		return "no sr*, sd* or vd* block device appeared"
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + ": " + strings.TrimPrefix(seen[n], "retry: ")
	}
	return strings.Join(parts, "; ")
}
