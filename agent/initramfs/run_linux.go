//go:build linux

package initramfs

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/agent/kmod"
)

// Paths inside the initramfs while the root is assembled.
const (
	lowerDir = "/lower"   // the squashfs
	rwDir    = "/rw"      // the tmpfs holding the overlay's upper and work dirs
	newRoot  = "/newroot" // the overlay, the future /
)

// fatalDelay is how long a fatal message stays on screen before power-off.
const fatalDelay = 10 * time.Second

// Run mounts the real root and execs Stage2 in it. It returns only if it
// could not power the machine off after a fatal error.
func Run(version string) error {
	con := console{w: os.Stderr}
	err := boot(con, version)
	con.printf("cannot boot: %v", err)
	con.printf("powering off in %s", fatalDelay)
	time.Sleep(fatalDelay)
	unix.Sync()
	if perr := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); perr != nil {
		return fmt.Errorf("powering off: %w", perr)
	}
	select {} // the kernel is powering off
}

// boot does stage 1 and returns only on failure.
func boot(con console, version string) error {
	if err := mountKernelFS(); err != nil {
		return err
	}
	con.phase(api.PhaseInitramfsStart)
	con.line(api.Stage1Line(version))
	loadModules(con)
	con.phase(api.PhaseModulesLoaded)
	dev, label, err := findMedium(10*time.Second, 25*time.Millisecond)
	if err != nil {
		return err
	}
	con.printf("boot medium %s, volume %q", dev, label)
	con.phase(api.PhaseMediumFound)
	if err := mountRoot(); err != nil {
		return err
	}
	con.phase(api.PhaseRootMounted)
	if err := switchRoot(con); err != nil {
		return err
	}
	con.printf("root is %s%s under a tmpfs overlay; starting %s", ISOMount, RootImage, Stage2)
	con.phase(api.PhaseSwitchRoot)
	if err := unix.Exec(Stage2, os.Args, os.Environ()); err != nil {
		return fmt.Errorf("exec %s: %w", Stage2, err)
	}
	return nil
}

// console writes the agent's console lines (package api) to the serial
// console.
type console struct{ w io.Writer }

func (c console) printf(format string, args ...any) {
	c.line(api.ConsoleLine(fmt.Sprintf(format, args...)))
}

func (c console) line(s string) { fmt.Fprintln(c.w, s) }

// phase prints the seconds since boot, for boot-time measurements.
func (c console) phase(name string) {
	up := math.NaN()
	if b, err := os.ReadFile("/proc/uptime"); err == nil {
		if s, err := ParseUptime(string(b)); err == nil {
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				up = v
			}
		}
	}
	c.line(api.PhaseLine(name, up))
}

func mountKernelFS() error {
	for _, m := range []struct{ src, dir, fstype, data string }{
		{"proc", "/proc", "proc", ""},
		{"sysfs", "/sys", "sysfs", ""},
		{"devtmpfs", "/dev", "devtmpfs", "mode=0755"},
	} {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", m.dir, err)
		}
		err := unix.Mount(m.src, m.dir, m.fstype, unix.MS_NOSUID|unix.MS_NOEXEC, m.data)
		if err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mounting %s on %s: %w", m.fstype, m.dir, err)
		}
	}
	return nil
}

// loadModules loads ModuleList; a module that fails is reported and skipped,
// since the medium may still be found without it.
func loadModules(con console) {
	f, err := os.Open(ModuleList)
	if err != nil {
		con.printf("no module list: %v", err)
		return
	}
	mods, err := ParseModuleList(f)
	f.Close()
	if err != nil {
		con.printf("module list %s: %v", ModuleList, err)
		return
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		con.printf("uname: %v", err)
		return
	}
	dir := "/lib/modules/" + unix.ByteSliceToString(uts.Release[:]) + "/"
	for _, m := range mods {
		if err := kmod.Load(dir + m); err != nil {
			con.printf("%v", err)
		}
	}
}
