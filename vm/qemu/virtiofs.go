package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/runner"
	"github.com/tenderdev/tender/vm"
)

// Share types, the values of the config key share_type.
const (
	ShareAuto     = "auto"            // virtiofs where Virtiofs finds it usable, else 9p
	Share9p       = api.Share9p       // -virtfs: QEMU serves the folder itself
	ShareVirtiofs = api.ShareVirtiofs // vhost-user-fs-pci: one virtiofsd per share
)

// Virtiofsd is a virtiofsd program found on the host.
type Virtiofsd struct {
	Path string
	// Rust is the maintained virtiofsd (gitlab.com/virtio-fs/virtiofsd,
	// /usr/libexec/virtiofsd); otherwise it is the C one QEMU shipped up to
	// 7.2 (/usr/lib/qemu/virtiofsd on Debian 12). Their options differ.
	Rust bool
}

// VirtiofsCache is virtiofsd's cache mode: "auto" lets the guest keep
// directory entries and attributes for 1 s and a file's pages until its
// mtime or size changes, so a file the host edits reads right within a
// second. Measured under TCG (find+stat over 10,000 files cold; the guest's
// own disk 2.7 s): see agent/shares for the table.
const VirtiofsCache = "auto"

// Names of the virtiofs runtime files in Spec.Dir, for share i.
func virtiofsSocket(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("virtiofs%d.sock", i))
}

func virtiofsdPidFile(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("virtiofsd%d.pid", i))
}

// VirtiofsdLog is where every virtiofsd of the machine logs (appended).
const VirtiofsdLog = "virtiofsd.log"

// usesVirtiofs says whether share sh is exported with virtiofs on host.
// Read-only shares stay on 9p: QEMU refuses their writes on the host
// (readonly=on), which the C virtiofsd cannot do.
func usesVirtiofs(sh vm.Share, host Host) bool {
	return host.Virtiofsd != nil && !sh.ReadOnly
}

// VirtiofsdArgs is the argv (program first) of the virtiofsd that serves
// share i of s. It is pure. virtiofsd switches to the guest's uid and gid
// for every file it creates, so it runs as root (see Virtiofs); it drops
// CAP_MKNOD, so that root in the guest cannot make a device node in the
// shared folder that the host would open (FIFOs and sockets need no
// capability and still work).
func VirtiofsdArgs(s vm.Spec, i int, v Virtiofsd) []string {
	sh := s.Shares[i]
	sock := virtiofsSocket(s.Dir, i)
	if v.Rust {
		return []string{v.Path,
			"--socket-path=" + sock,
			"--shared-dir=" + sh.HostPath,
			"--cache=" + VirtiofsCache,
			"--sandbox=namespace",
			"--announce-submounts",
			"--modcaps=-mknod",
		}
	}
	return []string{v.Path,
		"--socket-path=" + sock,
		"-o", "source=" + sh.HostPath,
		"-o", "cache=" + VirtiofsCache,
		"-o", "announce_submounts",
		"-o", "modcaps=-mknod",
	}
}

// virtiofsdMarkers are argv elements only share i's virtiofsd has.
func virtiofsdMarkers(dir string, i int) []string {
	return []string{"--socket-path=" + virtiofsSocket(dir, i)}
}

// virtiofsdDirs are where packages put virtiofsd outside PATH: Fedora and
// Debian 13's virtiofsd package (/usr/libexec), Debian 12's QEMU
// (/usr/lib/qemu), Arch (/usr/lib), source installs (/usr/local/libexec).
var virtiofsdDirs = []string{"/usr/libexec", "/usr/lib/qemu", "/usr/lib", "/usr/local/libexec"}

// FindVirtiofsd looks for virtiofsd on PATH, in virtiofsdDirs and in the
// libexec directory beside QEMU's bin directory, and tells the two
// implementations apart by their --help. Nil when there is none.
func FindVirtiofsd(qemu string) *Virtiofsd {
	candidates := []string{}
	if p, err := exec.LookPath("virtiofsd"); err == nil {
		candidates = append(candidates, p)
	}
	for _, d := range virtiofsdDirs {
		candidates = append(candidates, filepath.Join(d, "virtiofsd"))
	}
	if qemu != "" && filepath.IsAbs(qemu) {
		candidates = append(candidates, filepath.Join(filepath.Dir(filepath.Dir(qemu)), "libexec", "virtiofsd"))
	}
	for _, p := range candidates {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		// Either may print its usage on stdout or stderr, and exit non-zero.
		stdout, stderr, _ := runner.Exec{Timeout: 5 * time.Second}.RunCall(context.Background(), runner.Call{}, p, "--help")
		return &Virtiofsd{Path: p, Rust: IsRustVirtiofsd(stdout + stderr)}
	}
	return nil
}

// IsRustVirtiofsd tells the Rust virtiofsd from the C one by its --help.
func IsRustVirtiofsd(help string) bool { return strings.Contains(help, "--shared-dir") }

// ChooseVirtiofs decides, for the config value shareType, whether shares
// use virtiofs, and why not. found is what FindVirtiofsd returned; root says
// tender runs as root: virtiofsd creates each file as the guest's uid, which
// only root can, and so the guest's root owns what containers create, as
// root owns the host's files. A user who is not root keeps 9p, where QEMU
// runs as the user and every file the guest creates is the user's.
func ChooseVirtiofs(shareType, goos string, found *Virtiofsd, root bool) (*Virtiofsd, error) {
	switch shareType {
	case Share9p:
		return nil, nil
	case ShareAuto, "":
		if goos != "linux" || found == nil || !root {
			return nil, nil
		}
		return found, nil
	case ShareVirtiofs:
		switch {
		case goos != "linux":
			return nil, fmt.Errorf("share_type virtiofs needs a Linux host (virtiofsd), this is %s: set share_type to 9p or auto", goos)
		case found == nil:
			return nil, fmt.Errorf("share_type virtiofs needs virtiofsd, which was not found on PATH or in %s: install it (`sudo apt install virtiofsd`), or set share_type to auto", strings.Join(virtiofsdDirs, ", "))
		case !root:
			return nil, fmt.Errorf("share_type virtiofs needs tender to run as root (virtiofsd creates files as the guest's users): set share_type to auto or 9p")
		}
		return found, nil
	}
	return nil, fmt.Errorf("share_type must be one of auto, 9p, virtiofs, got %q", shareType)
}

// startVirtiofsd starts one virtiofsd per virtiofs share of s, each in its
// own session, recording its pid in Spec.Dir, and waits for its socket.
// Each serves one connection and exits when QEMU closes it, so a QEMU that
// exits or is killed takes them along; stopVirtiofsd ends those whose QEMU
// never came.
func (d *Driver) startVirtiofsd(ctx context.Context, s vm.Spec, host Host) error {
	start := d.StartDaemon
	if start == nil {
		start = runner.StartDetached
	}
	logPath := filepath.Join(s.Dir, VirtiofsdLog)
	for i, sh := range s.Shares {
		if !usesVirtiofs(sh, host) {
			continue
		}
		argv := VirtiofsdArgs(s, i, *host.Virtiofsd)
		pid, err := start(logPath, argv[0], argv[1:]...)
		if err != nil {
			return fmt.Errorf("sharing %s: %w", sh.HostPath, err)
		}
		if err := os.WriteFile(virtiofsdPidFile(s.Dir, i), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
			return err
		}
		if err := waitSocket(ctx, virtiofsSocket(s.Dir, i), pid, virtiofsdMarkers(s.Dir, i)); err != nil {
			return fmt.Errorf("sharing %s: virtiofsd %w (see %s, or set share_type to 9p)", sh.HostPath, err, logPath)
		}
	}
	return nil
}

// waitSocket waits for virtiofsd pid to create its socket. Right after
// the fork, and until exec, /proc/PID/cmdline does not show virtiofsd's
// argv yet: only a pid that stays without it for 500 ms has exited.
func waitSocket(ctx context.Context, sock string, pid int, markers []string) error {
	end := time.Now().Add(10 * time.Second)
	var gone time.Time
	for {
		if _, err := os.Stat(sock); err == nil {
			return nil
		}
		switch {
		case isOurs(pid, markers):
			gone = time.Time{}
		case gone.IsZero():
			gone = time.Now()
		case time.Since(gone) > 500*time.Millisecond:
			return errors.New("exited at start")
		}
		if time.Now().After(end) {
			return errors.New("did not open its socket in 10 s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stopVirtiofsd kills every virtiofsd of s still running (one whose QEMU
// never connected, or is gone) and removes their pidfiles and sockets.
func (d *Driver) stopVirtiofsd(s vm.Spec) {
	pidfiles, _ := filepath.Glob(filepath.Join(s.Dir, "virtiofsd*.pid"))
	for _, pf := range pidfiles {
		var i int
		if _, err := fmt.Sscanf(filepath.Base(pf), "virtiofsd%d.pid", &i); err != nil {
			continue
		}
		if pid, err := readPid(pf); err == nil && isOurs(pid, virtiofsdMarkers(s.Dir, i)) {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
		os.Remove(pf)
		os.Remove(virtiofsSocket(s.Dir, i))
	}
}
