package shares

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tenderdev/tender/agent/userdata"
)

// Mount mounts shares with the real system calls; the guest agent calls it
// once the data disk (which carries the userdata) is mounted.
func Mount(ctx context.Context, shares []userdata.Share, logf func(string, ...any)) error {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	m := &Mounter{
		ModulesFile:   "/etc/tender/modules",
		ModulesDir:    "/lib/modules/" + unix.ByteSliceToString(uts.Release[:]),
		LoadModule:    loadModule,
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

func loadModule(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	flags := 0
	if strings.HasSuffix(path, ".xz") || strings.HasSuffix(path, ".zst") || strings.HasSuffix(path, ".gz") {
		flags = unix.MODULE_INIT_COMPRESSED_FILE
	}
	err = unix.FinitModule(fd, "", flags)
	if err == nil || errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
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
