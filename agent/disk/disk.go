//go:build linux

// Package disk recognises a tender data disk without trusting anything else:
// it reads an ext2/3/4 superblock's label itself and asks the userdata
// package about the first-boot tar, so that the guest agent can refuse to
// format a disk that may hold someone's data.
package disk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tenderdev/tender/agent/api"
)

// Kind is what a disk holds, as far as tender is concerned.
type Kind int

const (
	// Foreign disks are neither: they are never touched.
	Foreign Kind = iota
	// Formatted disks carry an ext filesystem labelled api.DataLabel.
	Formatted
	// Fresh disks start with the userdata tar and ask to be formatted.
	Fresh
)

func (k Kind) String() string {
	switch k {
	case Formatted:
		return "formatted"
	case Fresh:
		return "fresh"
	}
	return "foreign"
}

// ext superblock layout (offsets inside the 1024-byte superblock, which
// itself starts 1024 bytes into the device).
const (
	superblockOffset = 1024
	sbMagicOffset    = 0x38
	sbLabelOffset    = 0x78
	sbLabelLen       = 16
	extMagic         = 0xEF53
)

// s_state bits: cleanly unmounted, errors detected.
const (
	sbStateOffset = 0x3A
	stateValid    = 0x1
	stateError    = 0x2

	sbIncompatOffset = 0x60 // s_feature_incompat
	incompatRecover  = 0x4  // the journal needs replaying: not unmounted cleanly
)

// ExtClean reports whether the ext filesystem in head was cleanly unmounted
// and has no recorded errors: then e2fsck -p would only say "clean", and
// skipping it saves a second of boot under emulation. The kernel clears the
// valid bit on disk while the filesystem is mounted, so a crash leaves it
// unclean.
func ExtClean(head []byte) bool {
	if _, ok := ExtLabel(head); !ok {
		return false
	}
	state := binary.LittleEndian.Uint16(head[superblockOffset+sbStateOffset:])
	// With a journal, ext4 keeps the valid bit set while mounted and marks
	// the journal as needing recovery instead: a crash shows only there.
	incompat := binary.LittleEndian.Uint32(head[superblockOffset+sbIncompatOffset:])
	return state&stateValid != 0 && state&stateError == 0 && incompat&incompatRecover == 0
}

// Fields of the size: s_blocks_count (lo, and hi with the 64bit feature),
// s_log_block_size (the block is 1024 << it).
const (
	sbBlocksLoOffset  = 0x04
	sbLogBlockOffset  = 0x18
	sbBlocksHiOffset  = 0x150
	incompat64bit     = 0x80
	maxLogBlockSize   = 6 // 64 KiB, the largest ext4 block
	sbBlocksHiNeedLen = sbBlocksHiOffset + 4
)

// ExtSize returns the size in bytes of the ext filesystem whose superblock
// is in head, and whether there is one: a disk grown on the host (tender
// set --disksize) is larger than the filesystem on it until resize2fs.
func ExtSize(head []byte) (int64, bool) {
	if _, ok := ExtLabel(head); !ok || len(head) < superblockOffset+sbBlocksHiNeedLen {
		return 0, false
	}
	sb := head[superblockOffset:]
	logBlock := binary.LittleEndian.Uint32(sb[sbLogBlockOffset:])
	if logBlock > maxLogBlockSize {
		return 0, false
	}
	blocks := uint64(binary.LittleEndian.Uint32(sb[sbBlocksLoOffset:]))
	if binary.LittleEndian.Uint32(sb[sbIncompatOffset:])&incompat64bit != 0 {
		blocks |= uint64(binary.LittleEndian.Uint32(sb[sbBlocksHiOffset:])) << 32
	}
	return int64(blocks << (10 + logBlock)), true
}

// HeadSize is how many bytes from the start of a disk Classify needs.
const HeadSize = superblockOffset + 1024

// ExtLabel returns the volume label of the ext2/3/4 filesystem whose
// superblock is in head (the first HeadSize bytes of a device), and whether
// there is one at all.
func ExtLabel(head []byte) (string, bool) {
	if len(head) < superblockOffset+sbLabelOffset+sbLabelLen {
		return "", false
	}
	sb := head[superblockOffset:]
	if binary.LittleEndian.Uint16(sb[sbMagicOffset:]) != extMagic {
		return "", false
	}
	label := sb[sbLabelOffset : sbLabelOffset+sbLabelLen]
	if i := bytes.IndexByte(label, 0); i >= 0 {
		label = label[:i]
	}
	return string(label), true
}

// Classify decides what head (the first HeadSize bytes of a device) is. The
// reason says, for a person, why a Foreign disk is left alone.
func Classify(head []byte) (kind Kind, reason string) {
	// The label wins: after formatting, stale tar bytes must never lead to a
	// second format.
	label, isExt := ExtLabel(head)
	if isExt && label == api.DataLabel {
		return Formatted, ""
	}
	if len(head) >= 512 && api.HasUserdataMagic(head[:512]) {
		return Fresh, ""
	}
	switch {
	case isExt:
		return Foreign, fmt.Sprintf("it holds an ext filesystem labelled %q, not %q", label, api.DataLabel)
	case allZero(head):
		return Foreign, fmt.Sprintf("it is blank: no %q tar and no ext filesystem labelled %q", api.UserdataMagic, api.DataLabel)
	default:
		return Foreign, fmt.Sprintf("it holds unknown data: no %q tar and no ext filesystem labelled %q", api.UserdataMagic, api.DataLabel)
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// ReadHead reads the first HeadSize bytes of the device at path (fewer if
// it is smaller).
func ReadHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, HeadSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return head[:n], nil
}

// IsCandidate reports whether a /sys/block name is a disk that may be a data
// disk: virtio, SCSI/SATA, Xen and NVMe disks; not CD-ROMs, loop, RAM or
// device-mapper devices.
func IsCandidate(name string) bool {
	for _, p := range []string{"vd", "sd", "xvd", "nvme"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Candidates lists the candidate disks under sysBlock (normally
// /sys/block) that have a non-zero size, sorted by name.
func Candidates(sysBlock string) ([]string, error) {
	entries, err := os.ReadDir(sysBlock)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !IsCandidate(e.Name()) {
			continue
		}
		size, err := os.ReadFile(filepath.Join(sysBlock, e.Name(), "size"))
		if err != nil || strings.TrimSpace(string(size)) == "0" {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}
