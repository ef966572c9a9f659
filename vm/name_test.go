package vm

import "testing"

func TestName(t *testing.T) {
	for machine, want := range map[string]string{
		"default": "tender-default",
		"dev-2":   "tender-dev-2",
		"Dev":     "tender-Dev", // case kept: VirtualBox and QEMU names are case-sensitive
		"a.b_c":   "tender-a.b_c",
	} {
		if got := Name(machine); got != want {
			t.Errorf("Name(%q) = %q, want %q", machine, got, want)
		}
	}
}
