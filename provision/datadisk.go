package provision

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/atomicfile"
)

// sectorSize is the unit of a disk; VirtualBox refuses raw images of other
// sizes and a guest cannot address a partial sector anyway.
const sectorSize = 512

// CreateDataDisk makes the machine's data disk at path: a sparse raw image of
// exactly sizeBytes whose first bytes are the userdata tar (see
// [api.Write]), which asks the guest to format the disk on first boot.
// QEMU attaches it as format=raw.
//
// The file is written next to path and renamed into place, mode 0600, so a
// failure leaves nothing behind. It refuses to replace an existing file: a
// data disk holds the user's images and containers.
func CreateDataDisk(path string, sizeBytes int64, u api.Userdata) error {
	tarball, err := renderUserdata(u, sizeBytes)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("data disk %s already exists", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("data disk: %w", err)
	}
	return atomicfile.WriteFunc(path, 0o600, func(f *os.File) error {
		if _, err := f.Write(tarball); err != nil {
			return err
		}
		// Truncate extends the file without writing: the rest is a hole,
		// so a 20 GiB disk costs a few kilobytes until the guest uses it.
		return f.Truncate(sizeBytes)
	})
}

// UserdataStream returns exactly sizeBytes: the userdata tar, then zeros. It
// is the raw disk image as a stream, for tools that read one from stdin
// (VBoxManage convertfromraw stdin).
func UserdataStream(u api.Userdata, sizeBytes int64) (io.Reader, error) {
	tarball, err := renderUserdata(u, sizeBytes)
	if err != nil {
		return nil, err
	}
	zeros := io.LimitReader(zeroReader{}, sizeBytes-int64(len(tarball)))
	return io.MultiReader(bytes.NewReader(tarball), zeros), nil
}

// renderUserdata writes the userdata tar and checks that it fits a disk of
// sizeBytes.
func renderUserdata(u api.Userdata, sizeBytes int64) ([]byte, error) {
	if sizeBytes <= 0 || sizeBytes%sectorSize != 0 {
		return nil, fmt.Errorf("data disk size must be a positive multiple of %d bytes, got %d", sectorSize, sizeBytes)
	}
	var buf bytes.Buffer
	if err := api.WriteUserdata(&buf, u); err != nil {
		return nil, fmt.Errorf("data disk: %w", err)
	}
	if int64(buf.Len()) > sizeBytes {
		return nil, fmt.Errorf("data disk of %d bytes is too small for its %d bytes of userdata", sizeBytes, buf.Len())
	}
	return buf.Bytes(), nil
}

// zeroReader reads zeros forever.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
