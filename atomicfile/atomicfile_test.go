package atomicfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// names lists dir, so a test can tell that no temporary file was left.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old      []byte // nil: no file before
		oldPerm  os.FileMode
		data     []byte
		perm     os.FileMode
		wantPerm os.FileMode // what Stat reports on Unix
	}{
		{name: "new key", data: []byte("-----BEGIN PRIVATE KEY-----\n"), perm: 0o600, wantPerm: 0o600},
		{name: "new certificate", data: []byte("-----BEGIN CERTIFICATE-----\n"), perm: 0o644, wantPerm: 0o644},
		{name: "mode ignores the umask", data: []byte("x"), perm: 0o666, wantPerm: 0o666},
		{name: "empty", data: []byte{}, perm: 0o600, wantPerm: 0o600},
		{name: "replaces a longer file", old: []byte("a much longer old content\n"), oldPerm: 0o600, data: []byte("new\n"), perm: 0o600, wantPerm: 0o600},
		{name: "replaces the mode", old: []byte("old\n"), oldPerm: 0o644, data: []byte("secret\n"), perm: 0o600, wantPerm: 0o600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state")
			if tc.old != nil {
				if err := os.WriteFile(path, tc.old, tc.oldPerm); err != nil {
					t.Fatal(err)
				}
			}
			if err := Write(path, tc.data, tc.perm); err != nil {
				t.Fatalf("Write: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.data) {
				t.Errorf("contents = %q, want %q", got, tc.data)
			}
			if runtime.GOOS != "windows" {
				st, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != tc.wantPerm {
					t.Errorf("mode = %v, want %v", st.Mode().Perm(), tc.wantPerm)
				}
			}
			if n := names(t, dir); !slices.Equal(n, []string{"state"}) {
				t.Errorf("directory holds %q, want only the file", n)
			}
		})
	}
}

// A key must never be readable by others, even while it is being written:
// the mode is set before the first byte.
func TestWriteFuncModeBeforeData(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix modes")
	}
	for _, perm := range []os.FileMode{0o600, 0o644, 0o400} {
		path := filepath.Join(t.TempDir(), "key")
		err := WriteFunc(path, perm, func(f *os.File) error {
			st, err := f.Stat()
			if err != nil {
				return err
			}
			if st.Mode().Perm() != perm || st.Size() != 0 {
				t.Errorf("before any data: mode %v size %d, want mode %v size 0", st.Mode().Perm(), st.Size(), perm)
			}
			_, err = f.Write([]byte("key"))
			return err
		})
		if err != nil {
			t.Fatalf("WriteFunc(%v): %v", perm, err)
		}
	}
}

// WriteFunc hands fill the file itself, so a caller can make it sparse.
func TestWriteFuncTruncate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk.img")
	err := WriteFunc(path, 0o600, func(f *os.File) error {
		if _, err := f.Write([]byte("head")); err != nil {
			return err
		}
		return f.Truncate(1 << 20)
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != 1<<20 {
		t.Errorf("size = %d, want %d", st.Size(), 1<<20)
	}
}

// A path with no directory is written in the working directory.
func TestWriteRelative(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := Write("machine.yaml", []byte("cpus: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "machine.yaml"))
	if err != nil || string(got) != "cpus: 2\n" {
		t.Fatalf("ReadFile = %q, %v; want %q", got, err, "cpus: 2\n")
	}
	if n := names(t, dir); !slices.Equal(n, []string{"machine.yaml"}) {
		t.Errorf("directory holds %q, want only the file", n)
	}
}

// A failed write leaves the old file as it was and no temporary file.
func TestWriteFailure(t *testing.T) {
	errFill := errors.New("disk full")
	for _, tc := range []struct {
		name string
		// setup prepares dir and returns the path to write and the
		// entries dir must hold afterwards.
		setup     func(t *testing.T, dir string) (path string, want []string)
		fill      func(f *os.File) error
		wantErrIs error
	}{
		{
			name: "fill fails",
			setup: func(t *testing.T, dir string) (string, []string) {
				path := filepath.Join(dir, "state")
				if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				return path, []string{"state"}
			},
			fill: func(f *os.File) error {
				if _, err := f.Write([]byte("half")); err != nil {
					return err
				}
				return errFill
			},
			wantErrIs: errFill,
		},
		{
			name: "rename fails: a directory is in the way",
			setup: func(t *testing.T, dir string) (string, []string) {
				path := filepath.Join(dir, "state")
				if err := os.MkdirAll(filepath.Join(path, "inside"), 0o700); err != nil {
					t.Fatal(err)
				}
				return path, []string{"state"}
			},
		},
		{
			name: "directory missing",
			setup: func(t *testing.T, dir string) (string, []string) {
				return filepath.Join(dir, "missing", "state"), nil
			},
			wantErrIs: fs.ErrNotExist,
		},
		{
			name: "directory not writable",
			setup: func(t *testing.T, dir string) (string, []string) {
				if runtime.GOOS == "windows" || os.Geteuid() == 0 {
					t.Skip("needs a user whom a directory's mode stops (not root, not Windows)")
				}
				path := filepath.Join(dir, "state")
				if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, 0o500); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.Chmod(dir, 0o700) })
				return path, []string{"state"}
			},
			wantErrIs: fs.ErrPermission,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, want := tc.setup(t, dir)
			before, _ := os.ReadFile(path)
			fill := tc.fill
			if fill == nil {
				fill = func(f *os.File) error { _, err := f.Write([]byte("new\n")); return err }
			}
			err := WriteFunc(path, 0o600, fill)
			if err == nil {
				t.Fatal("WriteFunc succeeded, want an error")
			}
			if tc.wantErrIs != nil && !errors.Is(err, tc.wantErrIs) {
				t.Errorf("error %v, want one wrapping %v", err, tc.wantErrIs)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Errorf("old contents %q became %q", before, after)
			}
			if n := names(t, dir); !slices.Equal(n, want) {
				t.Errorf("directory holds %q, want %q", n, want)
			}
		})
	}
}

// Writers racing on one path never leave a torn file: every read sees one
// writer's contents, whole.
func TestConcurrentWriters(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows refuses to rename over a file another process holds open")
	}
	const writers, writes, size = 8, 25, 64 << 10
	dir := t.TempDir()
	path := filepath.Join(dir, "forwards")
	if err := Write(path, bytes.Repeat([]byte{'a'}, size), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := os.ReadFile(path)
				if err != nil {
					t.Errorf("ReadFile: %v", err)
					return
				}
				if len(got) != size || bytes.Count(got, got[:1]) != size {
					t.Errorf("torn read: %d bytes, %d of them %q", len(got), bytes.Count(got, got[:1]), got[:1])
					return
				}
			}
		})
	}
	var ws sync.WaitGroup
	for w := range writers {
		data := bytes.Repeat([]byte{byte('b' + w)}, size)
		ws.Go(func() {
			for range writes {
				if err := Write(path, data, 0o600); err != nil {
					t.Errorf("Write: %v", err)
					return
				}
			}
		})
	}
	ws.Wait()
	close(done)
	readers.Wait()
	if n := names(t, dir); !slices.Equal(n, []string{"forwards"}) {
		t.Errorf("directory holds %q, want only the file", n)
	}
}
