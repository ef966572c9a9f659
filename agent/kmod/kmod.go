//go:build linux

// Package kmod loads kernel modules from files with finit_module(2): the
// initramfs stage, the guest agent and the shares code all load theirs
// through Load.
package kmod

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrUnknownSymbol is finit_module's ENOENT: a module the file needs is not
// loaded yet, so loading it again after its dependencies may work.
var ErrUnknownSymbol = errors.New("unknown symbol")

// Load loads the module in the file at path (a .ko, or a .ko.xz, .ko.zst or
// .ko.gz the kernel unpacks itself). A module already loaded, or built in,
// is not an error.
func Load(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loading module %s: %w", path, err)
	}
	defer unix.Close(fd)
	flags := 0
	if strings.HasSuffix(path, ".xz") || strings.HasSuffix(path, ".zst") || strings.HasSuffix(path, ".gz") {
		flags = unix.MODULE_INIT_COMPRESSED_FILE
	}
	err = unix.FinitModule(fd, "", flags)
	switch {
	case err == nil || errors.Is(err, unix.EEXIST):
		return nil
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("loading %s: %w", filepath.Base(path), ErrUnknownSymbol)
	}
	return fmt.Errorf("loading %s: %w", filepath.Base(path), err)
}
