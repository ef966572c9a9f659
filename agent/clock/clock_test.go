package clock

import (
	"testing"
	"time"
)

func TestFormatParse(t *testing.T) {
	now := time.Unix(1764300000, 123456789)
	if s := Format(now); s != "1764300000123456789" {
		t.Fatalf("Format = %q", s)
	}
	got, err := Parse("1764300000123456789\n")
	if err != nil || !got.Equal(now) {
		t.Fatalf("Parse = %v, %v", got, err)
	}
	if _, err := Parse("Sat Nov 28"); err == nil {
		t.Fatal("Parse accepted a date(1) string")
	}
}

func TestOffset(t *testing.T) {
	sent := time.Unix(1000, 0)
	received := sent.Add(200 * time.Millisecond)
	// The guest read 1000.1 s, the midpoint: in step.
	if off := Offset(sent, received, time.Unix(1000, 100e6)); off != 0 {
		t.Fatalf("in step: offset %s", off)
	}
	if off := Offset(sent, received, time.Unix(1000-3600, 100e6)); off != -time.Hour {
		t.Fatalf("an hour behind: offset %s", off)
	}
}
