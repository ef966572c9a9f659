// Package atomicfile writes a file so that a crash, a power cut or a full
// disk leaves either the old contents or the new, never a truncated or empty
// file. Every file of tender's whose loss would hurt goes through it: on the
// host machine.yaml, the state file, the forwards, the docker context, the CA,
// the keys and certificates; in the guest the saved userdata and the identity
// installed from it. It is stdlib only and shared by host and guest: the guest
// agent may import it, it is not host-only.
//
// Each step exists for a failure it prevents:
//
//   - The contents go to a temporary file in the same directory, so the final
//     rename stays inside one filesystem, where it is atomic. The name is
//     unique (os.CreateTemp), so two writers never share a temporary file,
//     and starts with a dot so tools that list the directory skip it.
//   - The temporary file gets its mode before any data is written, so a key
//     is never readable by others, even for a moment. The mode is exactly the
//     one asked for: the umask does not apply.
//   - The file is fsynced before the rename. Without it a filesystem may
//     commit the rename before the data (ext4's delayed allocation), and a
//     crash leaves the new name on an empty file.
//   - The rename replaces the old file in one step: a reader sees the old
//     contents or the new ones, whole.
//   - The directory is fsynced after the rename, so the rename itself is on
//     disk when Write returns. Windows cannot sync a directory and does not
//     need to (NTFS journals the rename); the step is skipped there, and on
//     any filesystem that reports it cannot.
//
// On every failure the temporary file is removed and the old file, if any,
// is left as it was.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// Write replaces the file at path with data, mode perm.
func Write(path string, data []byte, perm os.FileMode) error {
	return WriteFunc(path, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// WriteFunc replaces the file at path with what fill writes to f, mode perm.
// It is for contents that are streamed, or a file that needs more than bytes:
// fill may use f's other methods (Truncate to make a sparse file, Chown to
// give it an owner) but must not close it. When fill returns an error nothing
// is replaced.
func WriteFunc(path string, perm os.FileMode, fill func(f *os.File) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if err != nil && !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := fill(f); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	renamed = true
	// The new file is in place; from here a failure only means the rename
	// may not survive a crash yet.
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("writing %s: syncing its directory: %w", path, err)
	}
	return nil
}

// SyncDir makes a rename in dir durable (for renames made outside Write).
func SyncDir(dir string) error { return syncDir(dir) }

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	err = d.Sync()
	if errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.EINVAL) {
		// Some filesystems (FUSE, 9p) cannot sync a directory.
		return nil
	}
	return err
}
