//go:build linux

package initramfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRemoveTree(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"init", "etc/tender-initramfs", "lib/modules/6.12/kernel/fs/isofs/isofs.ko"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("init", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	if n := removeTree(dir, st.Dev); n != 0 {
		t.Errorf("removeTree failed on %d entries", n)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("left %d entries, first %q", len(ents), ents[0].Name())
	}
}

func TestRemoveTreeStaysOnItsDevice(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "keep")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	if n := removeTree(dir, st.Dev+1); n != 0 {
		t.Errorf("removeTree failed on %d entries", n)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("removeTree deleted a file of another device: %v", err)
	}
}
