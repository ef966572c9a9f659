package qemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInstallHint(t *testing.T) {
	tests := []struct {
		goos, arch, osRelease, want string
	}{
		{"linux", "amd64", "ID=debian\nVERSION_ID=\"12\"\n", "install it with `sudo apt install qemu-system-x86 qemu-utils`"},
		{"linux", "amd64", "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n", "install it with `sudo apt install qemu-system-x86 qemu-utils`"},
		{"linux", "arm64", "ID=ubuntu\n", "install it with `sudo apt install qemu-system-arm qemu-efi-aarch64 qemu-utils`"},
		{"linux", "amd64", "ID=fedora\n", "install it with `sudo dnf install qemu-kvm`"},
		{"linux", "amd64", "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n", "install it with `sudo dnf install qemu-kvm`"},
		{"linux", "amd64", "ID=arch\n", "install it with `sudo apt install qemu-system-x86 qemu-utils` (Debian, Ubuntu) or `sudo dnf install qemu-kvm` (Fedora)"},
		{"darwin", "arm64", "", "install it with `brew install qemu`"},
		{"windows", "amd64", "", "install it with `winget install SoftwareFreedomConservancy.QEMU`"},
		{"freebsd", "amd64", "", "install QEMU from https://www.qemu.org/download/"},
	}
	for _, tt := range tests {
		if got := InstallHint(tt.goos, tt.arch, tt.osRelease); got != tt.want {
			t.Errorf("InstallHint(%q, %q, %q)\n got %q\nwant %q", tt.goos, tt.arch, tt.osRelease, got, tt.want)
		}
	}
}

func TestFindMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Find("amd64")
	if err == nil {
		t.Fatal("Find succeeded with an empty PATH")
	}
	for _, w := range []string{"qemu-system-x86_64 is not installed: install it with", "or use --driver virtualbox"} {
		if !contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}

func TestFindOnPath(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "qemu-system-aarch64")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	got, err := Find("arm64")
	if err != nil || got != prog {
		t.Errorf("Find(arm64) = %q, %v; want %q", got, err, prog)
	}
}

func TestParseAccel(t *testing.T) {
	for in, want := range map[string]Accel{"": Auto, "auto": Auto, "kvm": KVM, "hvf": HVF, "whpx": WHPX, "tcg": TCG} {
		if got, err := ParseAccel(in); err != nil || got != want {
			t.Errorf("ParseAccel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseAccel("xen"); err == nil || !contains(err.Error(), `got "xen"`) {
		t.Errorf("ParseAccel(xen) error = %v", err)
	}
}

func TestDetectAccel(t *testing.T) {
	if got := DetectAccel("plan9"); got != TCG {
		t.Errorf("DetectAccel(plan9) = %q, want tcg", got)
	}
	if kvmUsable(filepath.Join(t.TempDir(), "no-kvm")) {
		t.Error("a missing device is usable")
	}
	if !TCG.Emulated() || KVM.Emulated() {
		t.Error("Emulated is wrong")
	}
	// On this host: whatever it finds must agree with /dev/kvm.
	_, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if want := map[bool]Accel{true: KVM, false: TCG}[err == nil]; DetectAccel("linux") != want {
		t.Errorf("DetectAccel(linux) = %q, want %q", DetectAccel("linux"), want)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
