package iso

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Paths inside the arm64 image that the host reads to boot it directly
// (qemu -kernel/-initrd/-append): scripts/build-iso.sh --arch arm64 writes them.
const (
	KernelPath  = "/boot/vmlinuz"    // gzip-compressed arm64 Image
	InitrdPath  = "/boot/initrd.img" // stage 1: the agent as /init
	CmdlinePath = "/boot/cmdline"    // the kernel command line, one line
)

const sectorSize = 2048

// OpenFile returns a reader for the regular file at name (an absolute,
// slash-separated path) inside the ISO 9660 image r. Names match the Rock
// Ridge name when there is one, else the ISO 9660 name without its ";1"
// version and trailing dot, case-insensitively.
func OpenFile(r io.ReaderAt, name string) (*io.SectionReader, error) {
	pvd := make([]byte, sectorSize)
	if _, err := r.ReadAt(pvd, pvdOffset); err != nil {
		return nil, errors.New("too short to hold a volume descriptor")
	}
	if pvd[0] != 1 || !bytes.Equal(pvd[1:6], []byte("CD001")) {
		return nil, errors.New("no ISO 9660 primary volume descriptor")
	}
	cur, ok := parseRecord(pvd[156 : 156+34])
	if !ok {
		return nil, errors.New("bad root directory record")
	}
	parts := strings.Split(strings.Trim(name, "/"), "/")
	for i, part := range parts {
		if !cur.dir {
			return nil, fmt.Errorf("%s: not a directory", strings.Join(parts[:i], "/"))
		}
		next, err := lookup(r, cur, part)
		if err != nil {
			return nil, err
		}
		cur = next
	}
	if cur.dir {
		return nil, fmt.Errorf("%s is a directory", name)
	}
	return io.NewSectionReader(r, int64(cur.extent)*sectorSize, int64(cur.size)), nil
}

// ReadFile returns the contents of the file at name in the image r (see
// OpenFile).
func ReadFile(r io.ReaderAt, name string) ([]byte, error) {
	f, err := OpenFile(r, name)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

type record struct {
	name   string // Rock Ridge name, else the normalised ISO 9660 name
	extent uint32 // first sector
	size   uint32
	dir    bool
}

// lookup scans the directory d for an entry called name.
func lookup(r io.ReaderAt, d record, name string) (record, error) {
	if d.size > 16<<20 {
		return record{}, fmt.Errorf("directory of %d bytes is implausible", d.size)
	}
	buf := make([]byte, d.size)
	if _, err := r.ReadAt(buf, int64(d.extent)*sectorSize); err != nil {
		return record{}, fmt.Errorf("reading a directory: %w", err)
	}
	for off := 0; off < len(buf); {
		n := int(buf[off])
		if n == 0 { // records do not cross sectors: skip to the next one
			off = (off/sectorSize + 1) * sectorSize
			continue
		}
		if off+n > len(buf) {
			break
		}
		if rec, ok := parseRecord(buf[off : off+n]); ok && strings.EqualFold(rec.name, name) {
			return rec, nil
		}
		off += n
	}
	return record{}, fmt.Errorf("%s: no such file in the image", name)
}

// parseRecord decodes a directory record (ECMA-119 9.1) and its Rock Ridge
// NM entry, if any. "." and ".." come back with names "\x00" and "\x01".
func parseRecord(b []byte) (record, bool) {
	if len(b) < 34 || int(b[0]) > len(b) {
		return record{}, false
	}
	nameLen := int(b[32])
	if 33+nameLen > len(b) {
		return record{}, false
	}
	rec := record{
		extent: binary.LittleEndian.Uint32(b[2:6]),
		size:   binary.LittleEndian.Uint32(b[10:14]),
		dir:    b[25]&2 != 0,
	}
	id := string(b[33 : 33+nameLen])
	if i := strings.IndexByte(id, ';'); i >= 0 {
		id = id[:i]
	}
	rec.name = strings.TrimSuffix(id, ".")
	su := 33 + nameLen
	if nameLen%2 == 0 {
		su++ // padding byte
	}
	var rr strings.Builder
	for su+4 <= int(b[0]) {
		sig, l := string(b[su:su+2]), int(b[su+2])
		if l < 4 || su+l > int(b[0]) {
			break
		}
		if sig == "NM" && l >= 5 {
			rr.Write(b[su+5 : su+l])
		}
		su += l
	}
	if rr.Len() > 0 {
		rec.name = rr.String()
	}
	return rec, true
}
