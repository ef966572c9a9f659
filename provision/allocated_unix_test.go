//go:build unix

package provision

import (
	"io/fs"
	"syscall"
)

// allocatedBytes is how much of the host's disk a file really uses.
func allocatedBytes(info fs.FileInfo) (int64, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int64(st.Blocks) * 512, true
}
