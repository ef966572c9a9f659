package iso

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ImagesDir is where Keep puts images, inside the cache directory.
const ImagesDir = "images"

// Keep makes sure the image a machine boots is tender's own, so that the
// machine does not depend on a build tree or a download folder that may be
// cleaned: an image outside cacheDir is copied to
// cacheDir/images/sha256-HEX.iso, named by its content, so that machines
// made from the same image share one copy and a rebuilt image is a new
// file. An image already in cacheDir is returned as it is.
func Keep(img Image, cacheDir string) (Image, error) {
	cache, err := filepath.Abs(cacheDir)
	if err != nil {
		return Image{}, err
	}
	if rel, err := filepath.Rel(cache, img.Path); err == nil && !strings.HasPrefix(rel, "..") && !filepath.IsAbs(rel) {
		return img, nil
	}
	src, err := os.Stat(img.Path)
	if err != nil {
		return Image{}, fmt.Errorf("reading the image %s: %w", img.Path, err)
	}
	sum, err := fileSum(img.Path)
	if err != nil {
		return Image{}, fmt.Errorf("reading the image %s: %w", img.Path, err)
	}
	dir := filepath.Join(cache, ImagesDir)
	dest := filepath.Join(dir, "sha256-"+sum+".iso")
	kept := Image{Path: dest, VolumeID: img.VolumeID}
	// Named by its content: one of that name and size is this image
	// (`tender doctor` checks it against its name).
	if fi, err := os.Stat(dest); err == nil && fi.Size() == src.Size() {
		return kept, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Image{}, fmt.Errorf("keeping the image in %s: %w", dir, err)
	}
	if err := copyFile(img.Path, dest, sum); err != nil {
		return Image{}, fmt.Errorf("keeping the image in %s: %w", dir, err)
	}
	return kept, nil
}

// copyFile copies src to dst through a temporary file renamed into place
// once what was written has the sha256 want, so that a short write or an
// image changed during the copy never passes for it.
func copyFile(src, dst, want string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".keep-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), in)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("the copy of %s has the sha256 %s, not %s (did it change meanwhile?)", src, got, want)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// Verify checks an image against what it must hold: a kept image
// (sha256-HEX.iso) against the sum in its name, a downloaded one against
// the .sha256 file beside it. It returns false, nil when there is nothing
// to check against.
func Verify(path string) (checked bool, err error) {
	want := ""
	base := filepath.Base(path)
	if hexSum, ok := strings.CutPrefix(strings.TrimSuffix(base, ".iso"), "sha256-"); ok && strings.HasSuffix(base, ".iso") {
		want = hexSum
	} else if f, err := os.Open(path + SumSuffix); err == nil {
		want, err = parseSum(f, base)
		f.Close()
		if err != nil {
			return true, fmt.Errorf("%s: %w", path+SumSuffix, err)
		}
	}
	if want == "" {
		return false, nil
	}
	got, err := fileSum(path)
	if err != nil {
		return true, err
	}
	if got != want {
		return true, fmt.Errorf("%s is damaged: its sha256 is %s, not %s", path, got, want)
	}
	return true, nil
}
