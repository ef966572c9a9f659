//go:build unix

package provision

import (
	"bytes"
	"github.com/tenderdev/tender/internal/testfakes"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// treeEntry is what a copy must preserve of one file.
type treeEntry struct {
	Mode fs.FileMode // type and permission bits
	Data string      // file contents, or a link's target
	Time int64       // modification time in seconds, regular files and directories
}

// readTree describes every entry under root by its slash path.
func readTree(t *testing.T, root string) map[string]treeEntry {
	t.Helper()
	tree := map[string]treeEntry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := treeEntry{Mode: info.Mode() & (fs.ModeType | fs.ModePerm), Time: info.ModTime().Unix()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			e.Data, e.Time = target, 0
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.Data = string(data)
		}
		tree[filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func assertSameTree(t *testing.T, want, got map[string]treeEntry) {
	t.Helper()
	var names []string
	for n := range want {
		names = append(names, n)
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		w, wok := want[n]
		g, gok := got[n]
		switch {
		case !gok:
			t.Errorf("%s: missing from the copy", n)
		case !wok:
			t.Errorf("%s: in the copy but not in the source", n)
		case w.Mode != g.Mode:
			t.Errorf("%s: mode %v, want %v", n, g.Mode, w.Mode)
		case w.Data != g.Data:
			t.Errorf("%s: contents differ (%d bytes, want %d)", n, len(g.Data), len(w.Data))
		case w.Time != g.Time:
			t.Errorf("%s: mtime %d, want %d", n, g.Time, w.Time)
		}
	}
}

// makeTree builds a source tree exercising what Copy must keep.
func makeTree(t *testing.T, root string) {
	t.Helper()
	big := make([]byte, 700_000) // several SFTP packets, read and written concurrently
	r := rand.NewChaCha8([32]byte{1})
	r.Read(big)
	files := []struct {
		name string
		mode fs.FileMode
		data string
	}{
		{"a.txt", 0o644, "alpha\n"},
		{"run.sh", 0o755, "#!/bin/sh\necho hi\n"},
		{"secret", 0o600, "key material"},
		{"sub/b.bin", 0o640, string(big)},
		{"sub/deeper/c.txt", 0o444, "read-only\n"},
		{"empty.txt", 0o644, ""},
	}
	mtime := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, f := range files {
		p := filepath.Join(root, f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "sub/emptydir"), 0o700); err != nil {
		t.Fatal(err)
	}
	// An absolute target: pkg/sftp's test server rewrites relative targets
	// against its working directory, which OpenSSH's does not.
	if err := os.Symlink("/etc/hostname", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	for dir, mode := range map[string]fs.FileMode{"sub/deeper": 0o555, "sub": 0o750, ".": 0o711} {
		p := filepath.Join(root, dir)
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { makeWritable(root) })
}

// makeWritable lets t.TempDir's cleanup remove read-only directories.
func makeWritable(root string) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

func TestCopyDirectoryBothWays(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	c := dialTest(t, s)
	src := filepath.Join(t.TempDir(), "project")
	makeTree(t, src)
	want := readTree(t, src)

	// Into the guest under a new name, by a path relative to the home.
	if err := c.Copy(t.Context(), src, "test:up"); err != nil {
		t.Fatalf("Copy to the guest: %v", err)
	}
	t.Cleanup(func() { makeWritable(s.Home) })
	assertSameTree(t, want, readTree(t, filepath.Join(s.Home, "up")))

	// Back out into an existing local directory, by an absolute guest path.
	out := t.TempDir()
	if err := c.Copy(t.Context(), "test:"+filepath.Join(s.Home, "up"), out); err != nil {
		t.Fatalf("Copy from the guest: %v", err)
	}
	t.Cleanup(func() { makeWritable(out) })
	assertSameTree(t, want, readTree(t, filepath.Join(out, "up")))

	// Again into an existing guest directory: it lands inside, under its name.
	if err := c.Copy(t.Context(), src, "test:~/up"); err != nil {
		t.Fatalf("second Copy to the guest: %v", err)
	}
	assertSameTree(t, want, readTree(t, filepath.Join(s.Home, "up", "project")))
}

func TestCopyFileBothWays(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	c := dialTest(t, s)
	dir := t.TempDir()
	src := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(src, []byte("line 1\nline 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(src, 0o640); err != nil {
		t.Fatal(err)
	}

	tests := []struct{ name, dst, want string }{
		{"into the home", "test:", "notes.txt"},
		{"home by tilde", "test:~", "notes.txt"},
		{"renamed", "test:renamed.txt", "renamed.txt"},
		{"into a subdirectory", "test:~/sub", "sub/notes.txt"},
	}
	if err := os.Mkdir(filepath.Join(s.Home, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.Copy(t.Context(), src, tt.dst); err != nil {
				t.Fatalf("Copy(%q, %q): %v", src, tt.dst, err)
			}
			p := filepath.Join(s.Home, tt.want)
			assertSameFile(t, src, p)
			os.Remove(p)
		})
	}

	// Overwriting an existing guest file replaces its contents and mode.
	existing := filepath.Join(s.Home, "existing.txt")
	if err := os.WriteFile(existing, []byte("a much longer previous content\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := c.Copy(t.Context(), src, "test:existing.txt"); err != nil {
		t.Fatal(err)
	}
	assertSameFile(t, src, existing)

	// Out of the guest, to a new local name.
	back := filepath.Join(dir, "back.txt")
	if err := c.Copy(t.Context(), "test:existing.txt", back); err != nil {
		t.Fatalf("Copy from the guest: %v", err)
	}
	assertSameFile(t, src, back)
}

func assertSameFile(t *testing.T, want, got string) {
	t.Helper()
	wi, err := os.Stat(want)
	if err != nil {
		t.Fatal(err)
	}
	gi, err := os.Stat(got)
	if err != nil {
		t.Fatalf("copy missing: %v", err)
	}
	wd, _ := os.ReadFile(want)
	gd, _ := os.ReadFile(got)
	if !bytes.Equal(wd, gd) {
		t.Errorf("%s holds %q, want %q", got, gd, wd)
	}
	if wi.Mode() != gi.Mode() {
		t.Errorf("%s has mode %v, want %v", got, gi.Mode(), wi.Mode())
	}
}

func TestCopyErrors(t *testing.T) {
	s := testfakes.NewSSHServer(t, GuestUser)
	c := dialTest(t, s)
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Home, "plain"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ src, dst, want string }{
		{"test:a", "test:b", "one side of a copy must be a local path"},
		{file, filepath.Join(dir, "g"), "name the guest side NAME:path"},
		{"test:no-such-file", dir, "copying guest " + filepath.Join(s.Home, "no-such-file")},
		{filepath.Join(dir, "missing"), "test:", "copying local " + filepath.Join(dir, "missing")},
		{dir, "test:plain", "exists and is not a directory"},
		{file, "test:no-such-dir/f", "creating guest " + filepath.Join(s.Home, "no-such-dir/f")},
		{file, "test:~root/x", "only ~ and ~/ are supported"},
	}
	for _, tt := range tests {
		err := c.Copy(t.Context(), tt.src, tt.dst)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Copy(%q, %q) = %v, want an error containing %q", tt.src, tt.dst, err, tt.want)
		}
	}
}
