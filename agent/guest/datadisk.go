//go:build linux

package guest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/agent/disk"
	"golang.org/x/sys/unix"
)

// Paths of the guest contract.
const (
	DataMount   = "/mnt/tender-data" // the data disk itself
	TenderDir   = api.StateDir
	UserdataDir = api.UserdataDir    // the first boot's userdata, file per tar entry
	TLSDir      = api.TLSDir         // dockerd's ca.pem, server.pem, server-key.pem
	SSHDir      = TenderDir + "/ssh" // sshd's host key
	LogDir      = api.LogDir
	DaemonJSON  = TenderDir + "/daemon.json"
)

// persisted are bind-mounted from the data disk.
var persisted = []string{"/var/lib/docker", TenderDir, "/home/docker"}

// diskWait bounds how long the agent looks for a data disk: drivers such as
// AHCI find their disks asynchronously after the module loads.
const diskWait = 10 * time.Second

// errNoDataDisk means no disk qualified; the reasons were printed.
var errNoDataDisk = errors.New("no tender data disk")

// mountDataDisk finds the data disk, formats it if it asks to be, mounts it
// and bind-mounts the persisted directories. It returns the userdata kept on
// the disk.
func (a *agent) mountDataDisk(ctx context.Context) (api.Userdata, error) {
	dev, kind, head, err := a.findDataDisk()
	if err != nil {
		return api.Userdata{}, err
	}
	var fresh api.Userdata
	switch kind {
	case disk.Formatted:
		if disk.ExtClean(head) {
			a.log.Logf("%s was cleanly unmounted; no fsck needed", dev)
			break
		}
		// Always say that the disk was checked and how it went: a journal
		// replay exits 0, and the boot log is how a person (and the fault
		// suite) tells a checked disk from a skipped one.
		out, err := a.procs.run(ctx, "e2fsck", "-p", dev)
		status := 0
		var ee *exitError
		if errors.As(err, &ee) {
			status = ee.status.ExitStatus()
		}
		// 1: errors corrected; 2: corrected, reboot advised (not for an
		// unmounted disk). Anything else is worth saying; mount anyway.
		if err != nil && (ee == nil || status > 2) {
			a.log.Printf("checking %s: %v", dev, err)
		}
		a.log.Logf("e2fsck -p %s (exit %d): %s", dev, status, strings.TrimSpace(out))
	case disk.Fresh:
		f, err := os.Open(dev)
		if err != nil {
			return api.Userdata{}, fmt.Errorf("opening %s: %w", dev, err)
		}
		fresh, err = api.ReadUserdata(f)
		f.Close()
		if err != nil {
			return api.Userdata{}, fmt.Errorf("reading the userdata on %s (not formatting it): %w", dev, err)
		}
		a.log.Printf("formatting %s as ext4 %q (first boot)", dev, api.DataLabel)
		if _, err := a.procs.run(ctx, "mkfs.ext4", mkfsArgs(dev, randomUUID(), randomUUID())...); err != nil {
			return api.Userdata{}, fmt.Errorf("formatting %s: %w", dev, err)
		}
	}
	if err := os.MkdirAll(DataMount, 0o755); err != nil {
		return api.Userdata{}, err
	}
	if err := unix.Mount(dev, DataMount, "ext4", unix.MS_NOATIME, ""); err != nil {
		return api.Userdata{}, fmt.Errorf("mounting %s on %s: %w", dev, DataMount, err)
	}
	if kind == disk.Formatted {
		a.growFilesystem(ctx, dev, head)
	}
	for _, p := range persisted {
		src := filepath.Join(DataMount, p)
		if err := os.MkdirAll(src, 0o755); err != nil {
			return api.Userdata{}, err
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return api.Userdata{}, err
		}
		if err := unix.Mount(src, p, "", unix.MS_BIND, ""); err != nil {
			return api.Userdata{}, fmt.Errorf("bind-mounting %s on %s: %w", src, p, err)
		}
	}
	if kind == disk.Fresh {
		if err := saveUserdata(UserdataDir, fresh); err != nil {
			return api.Userdata{}, fmt.Errorf("keeping the userdata on the disk: %w", err)
		}
		return fresh, nil
	}
	u, err := loadUserdata(UserdataDir)
	if err != nil {
		return api.Userdata{}, fmt.Errorf("data disk %s has no usable userdata in %s: %w", dev, UserdataDir, err)
	}
	return u, nil
}

// mkfsArgs formats the whole disk quickly: lazy inode tables and journal,
// so the first boot does not write the whole disk under emulation, and the
// filesystem UUID and directory hash seed given, because mke2fs otherwise
// waits for the kernel's entropy pool, not yet seeded this early under TCG.
func mkfsArgs(dev, uuid, hashSeed string) []string {
	return []string{"-F", "-q", "-L", api.DataLabel, "-m", "1", "-U", uuid,
		"-E", "lazy_itable_init=1,lazy_journal_init=1,hash_seed=" + hashSeed, dev}
}

// randomUUID is a version 4 UUID from a non-blocking source: a filesystem
// UUID and hash seed need to be unique, not secret.
func randomUUID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// findDataDisk looks at every candidate disk once, as it appears, until one
// qualifies or diskWait passes. Disks that do not qualify are reported on
// the console, with the reason, and never written to.
func (a *agent) findDataDisk() (string, disk.Kind, []byte, error) {
	seen := map[string]bool{}
	deadline := time.Now().Add(diskWait)
	for {
		names, _ := disk.Candidates("/sys/block")
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			dev := "/dev/" + name
			if !waitFor(dev, 2*time.Second) {
				a.log.Printf("disk %s: no device node", dev)
				continue
			}
			head, err := disk.ReadHead(dev)
			if err != nil {
				a.log.Printf("disk %s: %v", dev, err)
				continue
			}
			kind, reason := disk.Classify(head)
			a.log.Logf("disk %s: %s", dev, kind)
			if kind != disk.Foreign {
				return dev, kind, head, nil
			}
			a.log.Printf("disk %s: not a tender data disk, left untouched and never formatted: %s", dev, reason)
		}
		if time.Now().After(deadline) {
			if len(seen) == 0 {
				a.log.Printf("no disk found: nothing persists and no userdata lets anyone in")
			}
			return "", disk.Foreign, nil, errNoDataDisk
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// growFilesystem grows the mounted filesystem on dev to the whole device
// when the disk was made larger on the host (tender set --disksize):
// resize2fs grows a mounted ext4 online. A failure is logged; the disk
// stays usable at its old size.
func (a *agent) growFilesystem(ctx context.Context, dev string, head []byte) {
	fsSize, ok := disk.ExtSize(head)
	if !ok {
		return
	}
	sectors, err := os.ReadFile(filepath.Join("/sys/class/block", filepath.Base(dev), "size"))
	if err != nil {
		return
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(sectors)), 10, 64)
	if err != nil || n*512 < fsSize+growSlack {
		return
	}
	a.log.Printf("growing the filesystem on %s from %d MiB to the disk's %d MiB", dev, fsSize>>20, (n*512)>>20)
	if out, err := a.procs.run(ctx, "resize2fs", dev); err != nil {
		a.log.Printf("growing %s: %v: %s", dev, err, strings.TrimSpace(out))
	}
}

// growSlack is how much larger than its filesystem a disk must be to be
// grown: less is what ext4 leaves at the end of a disk anyway.
const growSlack = 8 << 20

func waitFor(path string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
