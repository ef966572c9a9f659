package machine

import (
	"os"
	"path/filepath"
	"testing"
)

// A log past the cap moves to .1, replacing the one before; a smaller one
// stays.
func TestRotateLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SerialLog)
	write := func(p string, n int) {
		if err := os.WriteFile(p, make([]byte, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(path, 10)
	rotateLog(path, 100)
	if fi, err := os.Stat(path); err != nil || fi.Size() != 10 {
		t.Fatalf("a small log was moved: %v %v", fi, err)
	}
	write(path+".1", 5)
	write(path, 101)
	rotateLog(path, 100)
	if _, err := os.Stat(path); err == nil {
		t.Error("the large log is still in place")
	}
	if fi, err := os.Stat(path + ".1"); err != nil || fi.Size() != 101 {
		t.Errorf("%s.1: %v %v, want the large log", path, fi, err)
	}
}
