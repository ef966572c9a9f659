package iso

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderdev/tender/internal/testfakes"
)

func TestOpenReadsVersion(t *testing.T) {
	im, err := Open(testfakes.TempISO(t, "tender-v1.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	if im.VolumeID != "tender-v1.2.3" || im.Version() != "1.2.3" {
		t.Fatalf("got %q / %q", im.VolumeID, im.Version())
	}
	other, _ := Open(testfakes.TempISO(t, "DEBIAN"))
	if other.Version() != "" {
		t.Fatalf("a foreign ISO has version %q", other.Version())
	}
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte(strings.Repeat("hello\n", 10000)), 0o644)
	for path, want := range map[string]string{
		filepath.Join(dir, "missing.iso"): "does not exist (build one with `make iso`, or pass --iso PATH)",
		text:                              "is not an ISO image: no ISO 9660 primary volume descriptor",
		dir:                               "is a directory, not an ISO image",
	} {
		_, err := Open(path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%s) error = %v, want it to contain %q", path, err, want)
		}
	}
}

func TestFindUsesCacheOrSaysHow(t *testing.T) {
	cache := t.TempDir()
	if _, err := Find("", cache, "amd64"); err == nil || !strings.Contains(err.Error(), "no tender ISO found: pass --iso PATH") {
		t.Fatalf("Find with an empty cache: %v", err)
	}
	data, _ := os.ReadFile(testfakes.TempISO(t, "tender-v0.1.0"))
	os.WriteFile(filepath.Join(cache, FileName), data, 0o644)
	im, err := Find("", cache, "amd64")
	if err != nil || im.Version() != "0.1.0" {
		t.Fatalf("Find = %+v, %v", im, err)
	}
}

func TestFileNameFor(t *testing.T) {
	for arch, want := range map[string]string{"": "tender.iso", "amd64": "tender.iso", "x86_64": "tender.iso", "arm64": "tender-arm64.iso", "aarch64": "tender-arm64.iso"} {
		if got := FileNameFor(arch); got != want {
			t.Errorf("FileNameFor(%q) = %q, want %q", arch, got, want)
		}
	}
}

func TestFindPicksTheArchImage(t *testing.T) {
	cache := t.TempDir()
	data, _ := os.ReadFile(testfakes.TempISO(t, "tender-v0.1.0"))
	os.WriteFile(filepath.Join(cache, FileName), data, 0o644)
	if _, err := Find("", cache, "arm64"); err == nil || !strings.Contains(err.Error(), "tender-arm64.iso") {
		t.Fatalf("Find(arm64) with only the amd64 image: %v", err)
	}
	os.WriteFile(filepath.Join(cache, "tender-arm64.iso"), data, 0o644)
	im, err := Find("", cache, "arm64")
	if err != nil || filepath.Base(im.Path) != "tender-arm64.iso" {
		t.Fatalf("Find(arm64) = %+v, %v", im, err)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The drivers' check wants only the signature, so a short image that a
	// test (or an odd builder) makes still passes.
	short := make([]byte, 32774)
	copy(short[32769:], "CD001")
	for _, tc := range []struct{ path, want string }{
		{testfakes.TempISO(t, "tender-v1.2.3"), ""},
		{write("short.iso", short), ""},
		{write("hello.iso", []byte("hello")), `"` + filepath.Join(dir, "hello.iso") + `" is not an ISO image`},
		{write("zeros.iso", make([]byte, 40000)), `"` + filepath.Join(dir, "zeros.iso") + `" is not an ISO image`},
		{dir, `"` + dir + `" is not an ISO image`},
		{filepath.Join(dir, "missing.iso"), `ISO "` + filepath.Join(dir, "missing.iso") + `" does not exist`},
	} {
		err := Check(tc.path)
		if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) {
			t.Errorf("Check(%s) = %v, want %q", filepath.Base(tc.path), err, tc.want)
		}
	}
}
