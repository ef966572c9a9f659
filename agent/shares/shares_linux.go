package shares

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/agent/kmod"
)

// Mount mounts shares with the real system calls; the guest agent calls it
// once the data disk (which carries the userdata) is mounted.
func Mount(ctx context.Context, shares []api.Share, logf func(string, ...any)) error {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	m := &Mounter{
		ModulesFile:   "/etc/tender/modules",
		ModulesDir:    "/lib/modules/" + unix.ByteSliceToString(uts.Release[:]),
		LoadModule:    kmod.Load,
		VirtioDevices: virtioDevices,
		Mount: func(source, target, fstype string, readOnly bool, data string) error {
			flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV)
			if readOnly {
				flags |= unix.MS_RDONLY
			}
			return unix.Mount(source, target, fstype, flags, data)
		},
		Logf: logf,
	}
	return m.MountAll(ctx, shares)
}

// virtioDevices reads the device id of every virtio device. virtio_pci,
// loaded at boot, lists them before any driver binds.
func virtioDevices() []int {
	paths, _ := filepath.Glob("/sys/bus/virtio/devices/*/device")
	var ids []int
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if id, err := strconv.ParseInt(strings.TrimSpace(string(b)), 0, 32); err == nil {
			ids = append(ids, int(id))
		}
	}
	return ids
}

// lowerPriority nices the calling (locked) thread.
func lowerPriority() { _ = unix.Setpriority(unix.PRIO_PROCESS, 0, 10) }
