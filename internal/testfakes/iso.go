package testfakes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ISOSize is the length of the image ISO returns: the 16 sectors of an ISO
// 9660 system area and the primary volume descriptor after them.
const ISOSize = 17 * 2048

// Where an ISO 9660 image keeps what tender reads from it.
const (
	pvdOffset   = 16 * 2048 // the primary volume descriptor, sector 16 (0x8000)
	volumeIDOff = 40        // the volume ID, inside the descriptor
	volumeIDLen = 32
)

// StampISO writes an ISO 9660 primary volume descriptor into img at byte
// 0x8000: type 1, "CD001" (which the drivers look for at byte 32769),
// version 1, and volumeID padded with spaces to 32 bytes, as mkisofs pads
// it. A tender image's volume ID is "tender-vVERSION". img must be at least
// ISOSize bytes; the rest of it is left as it is.
func StampISO(img []byte, volumeID string) {
	pvd := img[pvdOffset:ISOSize]
	pvd[0] = 1
	copy(pvd[1:], "CD001")
	pvd[6] = 1
	id := volumeID + strings.Repeat(" ", volumeIDLen)
	copy(pvd[volumeIDOff:], id[:volumeIDLen])
}

// ISO returns the smallest file tender accepts as an ISO image: ISOSize
// bytes, zero but for the descriptor StampISO writes.
func ISO(volumeID string) []byte {
	img := make([]byte, ISOSize)
	StampISO(img, volumeID)
	return img
}

// WriteISO writes ISO(volumeID) to path and returns path. It fails t when
// the file cannot be written.
func WriteISO(t testing.TB, path, volumeID string) string {
	t.Helper()
	if err := os.WriteFile(path, ISO(volumeID), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TempISO writes ISO(volumeID) as tender.iso in a new t.TempDir() and
// returns its path.
func TempISO(t testing.TB, volumeID string) string {
	t.Helper()
	return WriteISO(t, filepath.Join(t.TempDir(), "tender.iso"), volumeID)
}
