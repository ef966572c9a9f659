package qemu

import "testing"

func TestGuestArch(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{"amd64", "x86_64", ""},
		{"x86_64", "x86_64", ""},
		{"arm64", "aarch64", ""},
		{"aarch64", "aarch64", ""},
		{"riscv64", "", `unknown architecture "riscv64" (tender supports amd64 and arm64)`},
		{"", "", `unknown architecture "" (tender supports amd64 and arm64)`},
	} {
		got, err := guestArch(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("guestArch(%q) = %q, %v, want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}
