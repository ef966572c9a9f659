//go:build linux

package initramfs

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"path"
	"strings"
)

// ParseModuleList reads a module list: one path a line relative to the
// modules directory, blank lines and #-comments ignored.
func ParseModuleList(r io.Reader) ([]string, error) {
	var mods []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if path.IsAbs(line) || path.Clean(line) != line || strings.HasPrefix(line, "../") || !strings.HasSuffix(line, ".ko") {
			return nil, fmt.Errorf("line %d: want a relative path to a .ko file, got %q", n, line)
		}
		mods = append(mods, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading module list: %w", err)
	}
	return mods, nil
}

// Filesystem types DetectFS recognises.
const (
	FSUnknown = ""
	FSISO9660 = "iso9660"
	FSExt     = "ext" // ext2, ext3 or ext4
)

// ProbeSize is how many bytes from a device's start DetectFS needs: the
// iso9660 primary volume descriptor is the 2 KiB sector 16.
const ProbeSize = 16*2048 + 2048

// DetectFS tells the filesystem type from the first ProbeSize bytes of a
// device and, for iso9660, its volume ID.
func DetectFS(buf []byte) (fsType, label string) {
	const pvd = 16 * 2048
	if len(buf) >= pvd+72 && buf[pvd] == 1 && string(buf[pvd+1:pvd+6]) == "CD001" {
		return FSISO9660, strings.TrimRight(string(buf[pvd+40:pvd+72]), " \x00")
	}
	const sb = 1024 // ext superblock; s_magic at 56, s_volume_name at 120
	if len(buf) >= sb+136 && binary.LittleEndian.Uint16(buf[sb+56:]) == 0xEF53 {
		return FSExt, string(bytes.TrimRight(buf[sb+120:sb+136], "\x00"))
	}
	return FSUnknown, ""
}

// IsCandidate reports whether a /sys/block entry may be the boot medium:
// a CD (sr*), a SCSI/SATA/USB disk (sd*) or a virtio disk (vd*) holding the
// hybrid ISO.
func IsCandidate(name string) bool {
	for _, p := range []string{"sr", "sd", "vd"} {
		if strings.HasPrefix(name, p) && len(name) > len(p) {
			return true
		}
	}
	return false
}

// ParseUptime returns the first field of /proc/uptime, the seconds since boot.
func ParseUptime(s string) (string, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return "", fmt.Errorf("empty uptime")
	}
	return f[0], nil
}

// OverlayOptions is the mount data of the overlay root.
func OverlayOptions(lower, upper, work string) string {
	return "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
}
