// Package doctor checks what tender needs on this host, the README's
// Troubleshooting list as checks that run (`tender doctor`): each check
// says ok, a warning (tender works, slower or with less), or a problem,
// with the fix.
package doctor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tenderdev/tender/vm"
	"github.com/tenderdev/tender/vm/qemu"
)

// Levels of a Check.
const (
	OK      = "ok"
	Warning = "warning"
	Problem = "problem"
)

// Check is one line of the report.
type Check struct {
	Name   string `json:"name"`
	Level  string `json:"level"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Host is what the checks read, so that tests can give another host.
type Host struct {
	GOOS, GOARCH string
	Home         string // TENDER_HOME
	LookPath     func(string) (string, error)
	// Output runs a program and returns its output (qemu --version).
	Output func(ctx context.Context, name string, args ...string) ([]byte, error)
	Accel  func(goos string) qemu.Accel
	// Virtiofsd finds virtiofsd beside the QEMU at the given path.
	Virtiofsd func(qemuPath string) *qemu.Virtiofsd
}

// Local is this host.
func Local(home string) Host {
	return Host{
		GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Home: home,
		LookPath: exec.LookPath,
		Output: func(ctx context.Context, name string, args ...string) ([]byte, error) {
			return exec.CommandContext(ctx, name, args...).Output()
		},
		Accel:     qemu.DetectAccel,
		Virtiofsd: qemu.FindVirtiofsd,
	}
}

// socketAround is what the longest unix socket tender makes adds around a
// machine's name: TENDER_HOME/machines/NAME/virtiofs-0.sock.
const socketAround = len("/machines/") + len("/virtiofs-0.sock")

// shortNames is the machine name length below which TENDER_HOME is too long.
const shortNames = 16

// Run makes every check.
func Run(ctx context.Context, h Host) []Check {
	var out []Check
	out = append(out, checkHome(h))
	qemuPath, c := checkQEMU(ctx, h)
	out = append(out, c, checkAccel(h))
	if h.GOOS == "linux" && qemuPath != "" {
		out = append(out, checkVirtiofsd(h, qemuPath))
	}
	out = append(out, checkDockerCLI(h))
	return out
}

func checkHome(h Host) Check {
	c := Check{Name: "TENDER_HOME", Level: OK, Detail: h.Home}
	fi, err := os.Stat(h.Home)
	switch {
	case err == nil && !fi.IsDir():
		return Check{Name: c.Name, Level: Problem, Detail: h.Home + " is a file", Fix: "point TENDER_HOME at a directory"}
	case err == nil:
		probe, err := os.CreateTemp(h.Home, ".doctor-")
		if err != nil {
			return Check{Name: c.Name, Level: Problem, Detail: fmt.Sprintf("%s is not writable: %v", h.Home, err), Fix: "make it writable, or point TENDER_HOME at a writable directory"}
		}
		probe.Close()
		os.Remove(probe.Name())
	case !os.IsNotExist(err):
		return Check{Name: c.Name, Level: Problem, Detail: err.Error(), Fix: "point TENDER_HOME at a directory you can write"}
	default:
		c.Detail += " (made by the first init)"
	}
	fits := vm.MaxSocketPath - len(filepath.Clean(h.Home)) - socketAround
	if fits < shortNames {
		return Check{Name: c.Name, Level: Warning, Detail: fmt.Sprintf("%s is long: a machine's unix sockets fit the %d bytes allowed only with names up to %d characters", h.Home, vm.MaxSocketPath, max(fits, 0)), Fix: "set TENDER_HOME to a shorter directory"}
	}
	c.Detail += fmt.Sprintf(" (machine names up to %d characters fit its sockets)", min(fits, 64))
	return c
}

func checkQEMU(ctx context.Context, h Host) (string, Check) {
	name, err := qemu.Binary(h.GOARCH)
	if err != nil {
		return "", Check{Name: "QEMU", Level: Problem, Detail: err.Error()}
	}
	path, err := h.LookPath(name)
	if err != nil {
		osRelease, _ := os.ReadFile("/etc/os-release")
		return "", Check{Name: "QEMU", Level: Problem, Detail: name + " is not on PATH", Fix: qemu.InstallHint(h.GOOS, h.GOARCH, string(osRelease)) + ", or use --driver virtualbox"}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := h.Output(ctx, path, "--version")
	if err != nil {
		return "", Check{Name: "QEMU", Level: Problem, Detail: fmt.Sprintf("%s --version failed: %v", path, err), Fix: "reinstall QEMU"}
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(v)), "\n")
	return path, Check{Name: "QEMU", Level: OK, Detail: path + ": " + first}
}

func checkAccel(h Host) Check {
	a := h.Accel(h.GOOS)
	if a != qemu.TCG {
		return Check{Name: "accelerator", Level: OK, Detail: string(a)}
	}
	c := Check{Name: "accelerator", Level: Warning, Detail: "none: QEMU emulates the CPU (TCG), boots take tens of seconds"}
	switch h.GOOS {
	case "linux":
		if _, err := os.Stat("/dev/kvm"); err == nil {
			c.Detail = "/dev/kvm is there but not yours to open: QEMU would emulate the CPU"
			c.Fix = "add yourself to the kvm group (sudo usermod -aG kvm $USER) and log in again"
		} else {
			c.Fix = "enable virtualization (VT-x/AMD-V) in the firmware, or nested virtualization on a VM host"
		}
	case "windows":
		c.Fix = "enable the Windows Hypervisor Platform (Windows features)"
	case "darwin":
		c.Fix = "a Mac with Hypervisor.framework support (kern.hv_support)"
	}
	return c
}

func checkVirtiofsd(h Host, qemuPath string) Check {
	if v := h.Virtiofsd(qemuPath); v != nil {
		return Check{Name: "virtiofsd", Level: OK, Detail: v.Path + " (shared folders use virtiofs)"}
	}
	return Check{Name: "virtiofsd", Level: Warning, Detail: "not found: shared folders use 9p, slower for many small files", Fix: "install virtiofsd (Debian/Ubuntu: apt-get install virtiofsd)"}
}

func checkDockerCLI(h Host) Check {
	path, err := h.LookPath("docker")
	if err != nil {
		return Check{Name: "docker CLI", Level: Problem, Detail: "docker is not on PATH", Fix: "install the docker CLI (macOS: brew install docker; Debian/Ubuntu: apt-get install docker.io or docker-ce-cli)"}
	}
	return Check{Name: "docker CLI", Level: OK, Detail: path}
}

// Failed reports whether any check found a problem.
func Failed(checks []Check) bool {
	for _, c := range checks {
		if c.Level == Problem {
			return true
		}
	}
	return false
}
