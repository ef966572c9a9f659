package iso

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderdev/tender/internal/testfakes"
)

// An image from a build tree is copied into the cache under its content's
// name: the same image twice is one file, a rebuilt one another, and the
// machine keeps booting it when the build tree is gone. An image in the
// cache already stays where it is.
func TestKeep(t *testing.T) {
	cache := t.TempDir()
	built := testfakes.TempISO(t, "tender-v1.2.3")
	img, err := Open(built)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := Keep(img, cache)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(kept.Path) != filepath.Join(cache, ImagesDir) || !strings.HasPrefix(filepath.Base(kept.Path), "sha256-") || kept.Version() != "1.2.3" {
		t.Fatalf("kept as %+v", kept)
	}
	again, err := Keep(img, cache)
	if err != nil || again.Path != kept.Path {
		t.Errorf("the same image kept again: %+v, %v", again, err)
	}
	if same, err := Keep(kept, cache); err != nil || same.Path != kept.Path {
		t.Errorf("an image in the cache: %+v, %v", same, err)
	}
	os.Remove(built)
	if _, err := Open(kept.Path); err != nil {
		t.Errorf("the kept image after the build tree's is gone: %v", err)
	}
	other, err := Keep(mustOpen(t, testfakes.TempISO(t, "tender-v1.2.4")), cache)
	if err != nil || other.Path == kept.Path {
		t.Errorf("a rebuilt image: %+v, %v", other, err)
	}
}

func mustOpen(t *testing.T, path string) Image {
	t.Helper()
	img, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Verify catches a kept or downloaded image whose bytes changed.
func TestVerify(t *testing.T) {
	cache := t.TempDir()
	kept, err := Keep(mustOpen(t, testfakes.TempISO(t, "tender-v1.2.3")), cache)
	if err != nil {
		t.Fatal(err)
	}
	if checked, err := Verify(kept.Path); !checked || err != nil {
		t.Errorf("a good kept image: %v, %v", checked, err)
	}
	loose := testfakes.TempISO(t, "tender-v1.2.3")
	if checked, err := Verify(loose); checked || err != nil {
		t.Errorf("an image with nothing to check against: %v, %v", checked, err)
	}
	sum, _ := fileSum(loose)
	if err := writeSumFile(loose+SumSuffix, sum); err != nil {
		t.Fatal(err)
	}
	if checked, err := Verify(loose); !checked || err != nil {
		t.Errorf("an image with its .sha256: %v, %v", checked, err)
	}
	for _, p := range []string{kept.Path, loose} {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("x"))
		f.Close()
		if _, err := Verify(p); err == nil || !strings.Contains(err.Error(), "is damaged") {
			t.Errorf("%s changed: %v", p, err)
		}
	}
}
