package machine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/internal/testfakes"
)

// An image deleted after init: up boots the cached one with a warning, or,
// with none cached, refuses before starting anything and says how to get one.
func TestUpMissingImage(t *testing.T) {
	d := &testfakes.Driver{}
	s := newStore(t, d)
	m, err := s.Init(context.Background(), "dev", small(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(m.Settings.ISO); err != nil { // tender's own copy
		t.Fatal(err)
	}
	d.Calls = nil
	_, err = s.Up(context.Background(), "dev", config.Layer{})
	if err == nil || !strings.Contains(err.Error(), "is gone: run `tender download`") || !strings.Contains(err.Error(), "tender upgrade --iso PATH dev") {
		t.Fatalf("up without the image: %v", err)
	}
	if len(d.Calls) != 0 {
		t.Fatalf("driver calls %q, want none", d.Calls)
	}

	cache := filepath.Join(s.Home, CacheDir)
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(testfakes.TempISO(t, "tender-v9.9.9"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "tender.iso"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err = s.Load("dev", config.Layer{}); err != nil {
		t.Fatal(err)
	}
	if err := s.checkImage(m); err != nil {
		t.Fatal(err)
	}
	if m.Settings.ISO != filepath.Join(cache, "tender.iso") {
		t.Fatalf("image = %s, want the cached one", m.Settings.ISO)
	}
	if !strings.Contains(s.Progress.(*bytes.Buffer).String(), "is gone; booting the cached") {
		t.Fatalf("no warning: %s", s.Progress)
	}
}

// A machine made from a build tree's image boots tender's copy of it: the
// build tree can go.
func TestInitKeepsItsOwnImage(t *testing.T) {
	s := newStore(t, &testfakes.Driver{})
	flags := small(t)
	if _, err := s.Init(context.Background(), "dev", flags); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(*flags.ISO); err != nil {
		t.Fatal(err)
	}
	m, err := s.Load("dev", config.Layer{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Settings.ISO, filepath.Join(s.Home, CacheDir, "images")+string(filepath.Separator)) {
		t.Errorf("the machine boots %s, not tender's copy", m.Settings.ISO)
	}
	if err := s.checkImage(m); err != nil || strings.Contains(s.Progress.(*bytes.Buffer).String(), "is gone") {
		t.Errorf("with the build tree's image gone: %v %s", err, s.Progress)
	}
	// Two machines share the copy; it goes with the last of them.
	flags.ISO = &m.Settings.ISO
	if _, err := s.Init(context.Background(), "two", flags); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(context.Background(), "dev"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.Settings.ISO); err != nil {
		t.Errorf("the image went with one of the two machines booting it: %v", err)
	}
	if err := s.Delete(context.Background(), "two"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.Settings.ISO); err == nil {
		t.Error("the image stayed after the last machine booting it was deleted")
	}
}
