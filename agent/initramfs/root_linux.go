//go:build linux

package initramfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// mountRoot assembles the overlay root on newRoot from the mounted medium.
func mountRoot() error {
	for _, d := range []string{lowerDir, rwDir, newRoot} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	loop, err := attachLoop(ISOMount + RootImage)
	if err != nil {
		return err
	}
	err = unix.Mount(loop.Name(), lowerDir, "squashfs", unix.MS_RDONLY|unix.MS_NODEV, "")
	loop.Close() // the mount holds the device now; autoclear frees it with the mount
	if err != nil {
		return fmt.Errorf("mounting squashfs %s from %s: %w", RootImage, loop.Name(), err)
	}
	if err := unix.Mount("tmpfs", rwDir, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mounting the overlay's tmpfs: %w", err)
	}
	upper, work := rwDir+"/upper", rwDir+"/work"
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	if err := unix.Mount("overlay", newRoot, "overlay", 0, OverlayOptions(lowerDir, upper, work)); err != nil {
		return fmt.Errorf("mounting the overlay root: %w", err)
	}
	// The overlay keeps its layers; detached, they leave the mount table clean.
	for _, d := range []string{lowerDir, rwDir} {
		if err := unix.Unmount(d, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("detaching %s: %w", d, err)
		}
	}
	return nil
}

// attachLoop binds file to a free loop device, read-only, cleared
// automatically once its last user (the mount) is gone.
func attachLoop(file string) (*os.File, error) {
	backing, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("opening the root image: %w", err)
	}
	defer backing.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening loop control (is the loop module loaded?): %w", err)
	}
	defer ctl.Close()
	var lastErr error
	for try := 0; try < 20; try++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("getting a free loop device: %w", err)
		}
		loop, err := openLoop(fmt.Sprintf("/dev/loop%d", n))
		if err != nil {
			return nil, err
		}
		lastErr = configureLoop(int(loop.Fd()), int(backing.Fd()), file)
		if lastErr == nil {
			return loop, nil
		}
		loop.Close()
		if !errors.Is(lastErr, unix.EBUSY) {
			break
		}
	}
	return nil, fmt.Errorf("attaching %s to a loop device: %w", file, lastErr)
}

// openLoop opens a loop device, waiting briefly for devtmpfs to create it.
func openLoop(dev string) (*os.File, error) {
	for try := 0; ; try++ {
		f, err := os.OpenFile(dev, os.O_RDONLY, 0)
		if err == nil || !errors.Is(err, os.ErrNotExist) || try == 100 {
			if err != nil {
				return nil, fmt.Errorf("opening %s: %w", dev, err)
			}
			return f, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func configureLoop(loopFD, fileFD int, file string) error {
	info := unix.LoopInfo64{Flags: unix.LO_FLAGS_READ_ONLY | unix.LO_FLAGS_AUTOCLEAR}
	copy(info.File_name[:len(info.File_name)-1], file)
	err := unix.IoctlLoopConfigure(loopFD, &unix.LoopConfig{Fd: uint32(fileFD), Info: info})
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOTTY) {
		return err
	}
	// Kernels before 5.8 lack LOOP_CONFIGURE.
	if err := unix.IoctlSetInt(loopFD, unix.LOOP_SET_FD, fileFD); err != nil {
		return err
	}
	return unix.IoctlLoopSetStatus64(loopFD, &info)
}

// switchRoot moves the kernel filesystems and the medium into newRoot,
// deletes the initramfs files and makes newRoot the root, as busybox
// switch_root does.
func switchRoot(con console) error {
	for _, d := range []string{"/proc", "/sys", "/dev", ISOMount} {
		target := newRoot + d
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", target, err)
		}
		if err := unix.Mount(d, target, "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("moving %s into the new root: %w", d, err)
		}
	}
	var st unix.Stat_t
	if err := unix.Stat("/", &st); err != nil {
		return fmt.Errorf("stat /: %w", err)
	}
	if n := removeTree("/", st.Dev); n > 0 {
		con.printf("%d initramfs files could not be removed", n)
	}
	if err := unix.Chdir(newRoot); err != nil {
		return fmt.Errorf("entering the new root: %w", err)
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("moving the new root onto /: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot into the new root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// removeTree deletes what is under dir on device dev, not crossing into
// other filesystems, and returns how many entries it could not delete.
func removeTree(dir string, dev uint64) int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 1
	}
	failed := 0
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil || st.Dev != dev {
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			failed += removeTree(p, dev)
			if err := unix.Rmdir(p); err != nil {
				failed++
			}
		} else if err := unix.Unlink(p); err != nil {
			failed++
		}
	}
	return failed
}
