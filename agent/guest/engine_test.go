//go:build linux

package guest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReplaceSymlink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "current")
	for _, target := range []string{"aaaa1111", "aaaa1111", "bbbb2222"} {
		if err := replaceSymlink(target, link); err != nil {
			t.Fatalf("replaceSymlink(%q): %v", target, err)
		}
		if got, err := os.Readlink(link); err != nil || got != target {
			t.Fatalf("link points at %q (%v), want %q", got, err, target)
		}
	}
	if _, err := os.Lstat(link + ".new"); !os.IsNotExist(err) {
		t.Errorf("temporary link left behind: %v", err)
	}
}

func TestEngineHashRE(t *testing.T) {
	for s, want := range map[string]bool{
		"2ef63718aeeba2f8": true,
		"":                 false,
		"../../etc":        false,
		"2EF63718AEEBA2F8": false,
		"2ef6 3718":        false,
	} {
		if got := engineHashRE.MatchString(s); got != want {
			t.Errorf("engineHashRE.MatchString(%q) = %v, want %v", s, got, want)
		}
	}
}
