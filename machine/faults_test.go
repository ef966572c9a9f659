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
	flags := small(t)
	if _, err := s.Init(context.Background(), "dev", flags); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(*flags.ISO); err != nil {
		t.Fatal(err)
	}
	d.Calls = nil
	_, err := s.Up(context.Background(), "dev", config.Layer{})
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
	m, err := s.Load("dev", config.Layer{})
	if err != nil {
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
