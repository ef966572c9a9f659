package virtualbox

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func fakeLookup(goos string, onPath string, env map[string]string, files ...string) Lookup {
	return Lookup{
		GOOS: goos,
		LookPath: func(name string) (string, error) {
			if onPath != "" {
				return onPath, nil
			}
			return "", errors.New("not found")
		},
		Getenv: func(k string) string { return env[k] },
		Exists: func(p string) bool {
			for _, f := range files {
				if f == p {
					return true
				}
			}
			return false
		},
	}
}

func TestFind(t *testing.T) {
	for _, tc := range []struct {
		name       string
		configured string
		l          Lookup
		want       string
		wantErr    string
	}{
		{"configured wins", "/opt/vb/VBoxManage", fakeLookup("linux", "/usr/bin/VBoxManage", nil, "/opt/vb/VBoxManage"), "/opt/vb/VBoxManage", ""},
		{"configured missing", "/opt/vb/VBoxManage", fakeLookup("linux", "/usr/bin/VBoxManage", nil), "", `VBoxManage "/opt/vb/VBoxManage" (` + "`vbm`" + `) does not exist`},
		{"PATH", "", fakeLookup("darwin", "/usr/local/bin/VBoxManage", nil), "/usr/local/bin/VBoxManage", ""},
		{"VBOX_MSI_INSTALL_PATH", "", fakeLookup("windows", "", map[string]string{"VBOX_MSI_INSTALL_PATH": `D:\VirtualBox\`}, `D:\VirtualBox\VBoxManage.exe`), `D:\VirtualBox\VBoxManage.exe`, ""},
		{"VBOX_INSTALL_PATH first", "", fakeLookup("windows", "", map[string]string{"VBOX_INSTALL_PATH": `E:\VB`, "VBOX_MSI_INSTALL_PATH": `D:\VirtualBox\`}, `E:\VB\VBoxManage.exe`, `D:\VirtualBox\VBoxManage.exe`), `E:\VB\VBoxManage.exe`, ""},
		{"Program Files", "", fakeLookup("windows", "", nil, `C:\Program Files\Oracle\VirtualBox\VBoxManage.exe`), `C:\Program Files\Oracle\VirtualBox\VBoxManage.exe`, ""},
		{"missing on macOS", "", fakeLookup("darwin", "", nil), "", "VBoxManage is not installed: install VirtualBox with `brew install --cask virtualbox` (Intel Macs only), or use --driver qemu"},
		{"missing on Windows", "", fakeLookup("windows", "", nil), "", "VBoxManage is not installed: install VirtualBox with `winget install Oracle.VirtualBox`, or use --driver qemu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Find(tc.configured, tc.l)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Find = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestUnsetEnv(t *testing.T) {
	if got := UnsetEnv("darwin"); !reflect.DeepEqual(got, []string{"DYLD_LIBRARY_PATH", "LD_LIBRARY_PATH"}) {
		t.Errorf("darwin: %v", got)
	}
	if got := UnsetEnv("linux"); got != nil {
		t.Errorf("linux: %v", got)
	}
}
