//go:build linux

package dnsconf

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParse(t *testing.T) {
	got, err := Parse([]string{"1.1.1.1", "2606:4700:4700::1111"})
	if err != nil || len(got) != 2 || got[1] != "2606:4700:4700::1111" {
		t.Fatalf("Parse = %q, %v", got, err)
	}
	for _, bad := range [][]string{nil, {"dns.example"}, {"1.1.1.1\nnameserver 6.6.6.6"}} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestSet(t *testing.T) {
	dir := t.TempDir()
	OverrideFile, ResolvConf = filepath.Join(dir, "run", "dns"), filepath.Join(dir, "resolv.conf")
	if Overridden() {
		t.Fatal("overridden before Set")
	}
	if err := Set([]string{"9.9.9.9", "1.1.1.1"}); err != nil {
		t.Fatal(err)
	}
	want := "# written by tender-agent from the `dns` setting\nnameserver 9.9.9.9\nnameserver 1.1.1.1\n"
	if b, _ := os.ReadFile(ResolvConf); string(b) != want {
		t.Fatalf("resolv.conf = %q, want %q", b, want)
	}
	if !Overridden() {
		t.Fatal("not overridden after Set")
	}
}
