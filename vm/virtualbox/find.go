package virtualbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// Program is VBoxManage's name on PATH (exec.LookPath adds .exe on Windows).
const Program = "VBoxManage"

// MinVersion is the oldest VirtualBox tender drives: 6.1 brought the
// host-only range rules and the option names tender uses.
var MinVersion = Version{Major: 6, Minor: 1}

// Lookup is what Find needs from the host; tests give fakes.
type Lookup struct {
	GOOS     string
	LookPath func(string) (string, error)
	Getenv   func(string) string
	Exists   func(string) bool
}

// HostLookup looks on this host.
func HostLookup() Lookup {
	return Lookup{
		GOOS:     runtime.GOOS,
		LookPath: exec.LookPath,
		Getenv:   os.Getenv,
		Exists: func(p string) bool {
			st, err := os.Stat(p)
			return err == nil && !st.IsDir()
		},
	}
}

// Find returns the VBoxManage to run, searching in order: configured (the
// `--vbm` flag or the `vbm` key), PATH, then on Windows
// %VBOX_INSTALL_PATH%, %VBOX_MSI_INSTALL_PATH% and the Program Files
// default. A configured path that does not exist is an error rather than a
// reason to look elsewhere. When nothing is found the error says how to
// install VirtualBox or to use --driver qemu.
func Find(configured string, l Lookup) (string, error) {
	if configured != "" {
		if l.Exists(configured) {
			return configured, nil
		}
		return "", fmt.Errorf("VBoxManage %q (`vbm`) does not exist: fix the path with --vbm, or remove `vbm` to search PATH", configured)
	}
	if p, err := l.LookPath(Program); err == nil {
		return p, nil
	}
	if l.GOOS == "windows" {
		var dirs []string
		for _, env := range []string{"VBOX_INSTALL_PATH", "VBOX_MSI_INSTALL_PATH"} {
			for _, d := range strings.Split(l.Getenv(env), ";") {
				if d = strings.TrimSpace(d); d != "" {
					dirs = append(dirs, d)
				}
			}
		}
		pf := l.Getenv("ProgramFiles")
		if pf == "" {
			pf = `C:\Program Files`
		}
		dirs = append(dirs, pf+`\Oracle\VirtualBox`)
		for _, d := range dirs {
			p := strings.TrimRight(d, `\/`) + `\` + Program + ".exe"
			if l.Exists(p) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("VBoxManage is not installed: %s, or use --driver qemu", InstallHint(l.GOOS))
}

// InstallHint says how to install VirtualBox on goos.
func InstallHint(goos string) string {
	switch goos {
	case "darwin":
		return "install VirtualBox with `brew install --cask virtualbox` (Intel Macs only)"
	case "windows":
		return "install VirtualBox with `winget install Oracle.VirtualBox`"
	case "linux":
		return "install VirtualBox from https://www.virtualbox.org/wiki/Linux_Downloads (or your distribution's virtualbox package)"
	}
	return "install VirtualBox from https://www.virtualbox.org/wiki/Downloads"
}

// UnsetEnv lists the variables removed from VBoxManage's environment on
// goos: on macOS an inherited DYLD_LIBRARY_PATH or LD_LIBRARY_PATH (set by
// Homebrew shells, conda, IDEs) makes VBoxManage load the wrong libraries
// and fail.
func UnsetEnv(goos string) []string {
	if goos == "darwin" {
		return []string{"DYLD_LIBRARY_PATH", "LD_LIBRARY_PATH"}
	}
	return nil
}

// Version is a VirtualBox release.
type Version struct {
	Major, Minor, Patch int
	Revision            string // "r163906"
	Raw                 string
}

// AtLeast reports whether v is min or newer.
func (v Version) AtLeast(min Version) bool {
	if v.Major != min.Major {
		return v.Major > min.Major
	}
	if v.Minor != min.Minor {
		return v.Minor > min.Minor
	}
	return v.Patch >= min.Patch
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

var versionLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)(\S*)`)
})

// ParseVersion reads `VBoxManage --version`: one line such as
// "7.0.20r163906" or "6.1.50_Ubuntur161033", possibly after WARNING lines
// (a kernel module not loaded), which are skipped.
func ParseVersion(out string) (Version, error) {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		m := versionLine().FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v := Version{Raw: line}
		v.Major, _ = strconv.Atoi(m[1])
		v.Minor, _ = strconv.Atoi(m[2])
		v.Patch, _ = strconv.Atoi(m[3])
		if i := strings.LastIndex(m[4], "r"); i >= 0 {
			v.Revision = m[4][i:]
		}
		return v, nil
	}
	return Version{}, fmt.Errorf("VBoxManage --version printed no version: %q", strings.TrimSpace(out))
}

// CheckVersion says plainly when v is too old.
func CheckVersion(v Version) error {
	if !v.AtLeast(MinVersion) {
		return fmt.Errorf("VirtualBox %s is too old: tender needs %d.%d or newer (upgrade VirtualBox, or use --driver qemu)", v, MinVersion.Major, MinVersion.Minor)
	}
	return nil
}

// vmFolder is where VirtualBox keeps the VM's files when created with
// --basefolder dir: dir/NAME (settings, Logs/, Snapshots/).
func vmFolder(dir, vmName string) string { return filepath.Join(dir, vmName) }
