package vm

import "testing"

func TestForeignArchWarning(t *testing.T) {
	for _, tt := range []struct{ guest, host, want string }{
		{"arm64", "amd64", "warning: the arm64 guest is emulated on this amd64 host (QEMU TCG), which is slow; `--arch amd64` makes a fast machine"},
		{"amd64", "arm64", "warning: the amd64 guest is emulated on this arm64 host (QEMU TCG), which is slow; `--arch arm64` makes a fast machine"},
		{"aarch64", "x86_64", "warning: the arm64 guest is emulated on this amd64 host (QEMU TCG), which is slow; `--arch amd64` makes a fast machine"},
		{"arm64", "arm64", ""},
		{"aarch64", "arm64", ""},
		{"", "amd64", ""},
		{"riscv64", "amd64", ""},
	} {
		if got := ForeignArchWarning(tt.guest, tt.host); got != tt.want {
			t.Errorf("ForeignArchWarning(%q, %q) = %q, want %q", tt.guest, tt.host, got, tt.want)
		}
	}
}

func TestCanonicalArch(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"amd64", "amd64", true},
		{"x86_64", "amd64", true},
		{"arm64", "arm64", true},
		{"aarch64", "arm64", true},
		{"", "", false},
		{"riscv64", "riscv64", false},
		{"X86_64", "X86_64", false}, // GOARCH and uname -m are lower case; so is the check
		{"i386", "i386", false},
	} {
		got, ok := CanonicalArch(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CanonicalArch(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
