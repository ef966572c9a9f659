package drivers

import (
	"errors"
	"testing"

	"github.com/tenderdev/tender/config"
)

func TestChoose(t *testing.T) {
	found := func(p string) func(string) (string, error) {
		return func(string) (string, error) { return p, nil }
	}
	missing := func(string) (string, error) { return "", errors.New("not found") }
	for _, tc := range []struct {
		name      string
		s         config.Settings
		qemu, vbm func(string) (string, error)
		want, why string
	}{
		{"auto, only VirtualBox", config.Settings{Driver: "auto"}, missing, found("/usr/bin/VBoxManage"),
			"virtualbox", "driver: auto (from default) chose virtualbox: /usr/bin/VBoxManage is installed and QEMU is not"},
		{"auto, both", config.Settings{Driver: "auto"}, found("/usr/bin/qemu-system-x86_64"), found("/usr/bin/VBoxManage"),
			"qemu", "driver: auto (from default) chose qemu: /usr/bin/qemu-system-x86_64 is installed"},
		{"auto, neither", config.Settings{Driver: "auto"}, missing, missing,
			"qemu", "driver: auto (from default) chose qemu: neither QEMU nor VBoxManage is installed"},
		{"set", config.Settings{Driver: "virtualbox", Origins: map[string]string{"driver": "flag"}}, found("/q"), missing,
			"virtualbox", "driver: virtualbox (from flag)"},
	} {
		got, why := Choose(tc.s, Host{FindQEMU: tc.qemu, FindVBoxManage: tc.vbm})
		if got != tc.want || why != tc.why {
			t.Errorf("%s: %s, %q; want %s, %q", tc.name, got, why, tc.want, tc.why)
		}
	}
}
