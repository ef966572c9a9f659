// Package iso finds the guest image and reads its version. (Building it is
// scripts/build-iso.sh's job.)
package iso

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tenderdev/tender/vm"
)

// FileName is the amd64 image's name in the cache and in releases; other
// architectures' images are named by FileNameFor.
const FileName = "tender.iso"

// FileNameFor is the image's name for a guest architecture: tender.iso for
// amd64 (and "", the default), tender-ARCH.iso for the others
// (tender-arm64.iso).
func FileNameFor(arch string) string {
	if arch == "" {
		return FileName
	}
	if arch, _ = vm.CanonicalArch(arch); arch == "amd64" {
		return FileName
	}
	return "tender-" + arch + ".iso"
}

// The ISO 9660 primary volume descriptor sits at sector 16 (2048-byte sectors).
const (
	pvdOffset      = 16 * 2048
	volumeIDOffset = pvdOffset + 40
	volumeIDLen    = 32
)

// Image is a checked guest image.
type Image struct {
	Path     string
	VolumeID string // e.g. "tender-v0.1.0"
}

// Version is the image version from the volume ID ("0.1.0"), or "" when the
// image is not one of ours.
func (im Image) Version() string {
	v, ok := strings.CutPrefix(im.VolumeID, "tender-v")
	if !ok {
		return ""
	}
	return v
}

// Open checks that path is an ISO 9660 image and reads its volume ID.
func Open(path string) (Image, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Image{}, fmt.Errorf("ISO %q does not exist (build one with `make iso`, or pass --iso PATH)", path)
		}
		return Image{}, fmt.Errorf("opening ISO: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return Image{}, fmt.Errorf("ISO %q is a directory, not an ISO image (pass the image file with --iso PATH, or build one with `make iso`)", path)
	}
	id, err := readVolumeID(f)
	if err != nil {
		return Image{}, fmt.Errorf("%q is not an ISO image: %w (pass a tender ISO with --iso PATH, or build one with `make iso`)", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Image{}, err
	}
	return Image{Path: abs, VolumeID: id}, nil
}

// Check reports a missing file, or one without the ISO 9660 signature
// ("CD001" at byte 32769, the primary volume descriptor's standard
// identifier). It is the hypervisor drivers' check before they attach path:
// lighter than Open (no volume ID, no advice, which the machine's own
// checks give), so any image a hypervisor can boot passes.
func Check(path string) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("ISO %q does not exist", path)
		}
		return fmt.Errorf("opening ISO: %w", err)
	}
	defer f.Close()
	magic := make([]byte, 5)
	if _, err := f.ReadAt(magic, pvdOffset+1); err != nil || string(magic) != "CD001" {
		return fmt.Errorf("%q is not an ISO image", path)
	}
	return nil
}

func readVolumeID(r io.ReaderAt) (string, error) {
	pvd := make([]byte, 2048)
	if _, err := r.ReadAt(pvd, pvdOffset); err != nil {
		return "", errors.New("too short to hold a volume descriptor")
	}
	// Type 1 = primary volume descriptor, then the standard identifier.
	if pvd[0] != 1 || !bytes.Equal(pvd[1:6], []byte("CD001")) {
		return "", errors.New("no ISO 9660 primary volume descriptor")
	}
	id := pvd[volumeIDOffset-pvdOffset : volumeIDOffset-pvdOffset+volumeIDLen]
	return strings.TrimRight(string(id), " \x00"), nil
}

// Find returns the image to use: the explicit path when given, else the
// cached one for the guest arch (see FileNameFor). The error says how to get
// an image.
func Find(explicit, cacheDir, arch string) (Image, error) {
	if explicit != "" {
		return Open(explicit)
	}
	cached := filepath.Join(cacheDir, FileNameFor(arch))
	if _, err := os.Stat(cached); err == nil {
		return Open(cached)
	}
	return Image{}, fmt.Errorf("no tender ISO found: pass --iso PATH (build one with `make iso`), set `iso:` in config.yaml, or put one at %s", cached)
}
