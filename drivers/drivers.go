// Package drivers chooses a machine's hypervisor driver from its settings.
package drivers

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/machine"
	"github.com/tenderdev/tender/runner"
	"github.com/tenderdev/tender/vm"
	"github.com/tenderdev/tender/vm/qemu"
	"github.com/tenderdev/tender/vm/sshserver"
	"github.com/tenderdev/tender/vm/virtualbox"
)

// Factory returns the machine store's driver factory. verbose echoes every
// external command to log.
func Factory(verbose bool, log io.Writer) machine.DriverFactory {
	run := runner.Exec{}
	if verbose {
		run.Verbose = log
	}
	return func(s config.Settings) (vm.Driver, error) {
		name, _ := Choose(s, Host{})
		switch name {
		case "qemu":
			d := qemu.New(run)
			accel, err := qemu.ParseAccel(s.Accel)
			if err != nil {
				return nil, err
			}
			d.Accel = accel
			d.Shares = s.ShareType
			if s.DownAction == config.DownSave && (s.ShareType == "auto" || s.ShareType == "") {
				// virtiofs cannot be saved (QEMU 7.2: vhost-user-fs is
				// not migratable); a machine that is to be saved shares
				// with 9p.
				d.Shares = qemu.Share9p
			}
			d.Warn = func(line string) { fmt.Fprintln(os.Stderr, line) }
			if self, err := os.Executable(); err == nil {
				// tender itself compresses a saved machine's stream.
				d.StreamFilter = []string{self, "qemu-state"}
			}
			return d, nil
		case "virtualbox":
			return virtualbox.New(run, s.VBoxManage), nil
		case config.DriverSSH:
			return sshserver.Driver{Agent: machine.HostAgentStatus}, nil
		default:
			return nil, fmt.Errorf("driver %q is not available: use --driver qemu, --driver virtualbox or --driver ssh", s.Driver)
		}
	}
}

// Host is what Choose looks at; the zero value looks on this host.
type Host struct {
	// FindQEMU returns the QEMU program for an arch (qemu.Find).
	FindQEMU func(arch string) (string, error)
	// FindVBoxManage returns VBoxManage for the configured path
	// (virtualbox.Find).
	FindVBoxManage func(configured string) (string, error)
}

func (h Host) orLocal() Host {
	if h.FindQEMU == nil {
		h.FindQEMU = func(arch string) (string, error) {
			if arch == "" {
				arch = runtime.GOARCH
			}
			name, err := qemu.Binary(arch)
			if err != nil {
				return "", err
			}
			return exec.LookPath(name)
		}
	}
	if h.FindVBoxManage == nil {
		h.FindVBoxManage = func(configured string) (string, error) {
			return virtualbox.Find(configured, virtualbox.HostLookup())
		}
	}
	return h
}

// Choose returns the driver for s and why, in words for `tender info`.
// `driver: auto` (or unset) picks VirtualBox when VBoxManage is found and
// QEMU is not, and QEMU otherwise (including when neither is installed, so
// the error says how to install QEMU). It only looks for programs; it runs
// none.
func Choose(s config.Settings, h Host) (driver, reason string) {
	origin := s.Origins[config.KeyDriver]
	if origin == "" {
		origin = config.OriginDefault
	}
	switch s.Driver {
	case "qemu", "virtualbox":
		return s.Driver, fmt.Sprintf("driver: %s (from %s)", s.Driver, origin)
	case config.DriverSSH:
		return s.Driver, fmt.Sprintf("driver: ssh (from %s): the server %s, over SSH", origin, s.SSHHost)
	case "auto", "":
	default:
		return s.Driver, fmt.Sprintf("driver: %s (from %s) is unknown", s.Driver, origin)
	}
	h = h.orLocal()
	arch := s.Arch
	qemuPath, qerr := h.FindQEMU(arch)
	if qerr == nil {
		return "qemu", fmt.Sprintf("driver: auto (from %s) chose qemu: %s is installed", origin, qemuPath)
	}
	vbm, verr := h.FindVBoxManage(s.VBoxManage)
	if verr == nil {
		return "virtualbox", fmt.Sprintf("driver: auto (from %s) chose virtualbox: %s is installed and QEMU is not", origin, vbm)
	}
	return "qemu", fmt.Sprintf("driver: auto (from %s) chose qemu: neither QEMU nor VBoxManage is installed", origin)
}

// Reason says which driver s gets and why, for `tender info`.
func Reason(s config.Settings) string {
	_, why := Choose(s, Host{})
	return why
}
