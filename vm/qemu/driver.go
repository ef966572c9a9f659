package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenderdev/tender/iso"
	"github.com/tenderdev/tender/runner"
	"github.com/tenderdev/tender/vm"
)

// Driver runs each machine as one detached QEMU process, driven through its
// QMP monitor. It keeps no state of its own: everything is in files under
// Spec.Dir (see PidFile, QMPSocket).
type Driver struct {
	// Runner runs qemu-system-* on unix hosts (QEMU daemonizes, so the run
	// returns once the VM is up).
	Runner runner.Runner
	// Host describes this host; nil means LocalHost(spec.Arch), looked up by
	// Create and Start only (State, Stop and the rest never need it).
	Host *Host
	// Accel overrides the detected accelerator when set (config key
	// `accel`); "" or "auto" detects. See ParseAccel.
	Accel Accel
	// Shares is the config key share_type: "auto" (or ""), "9p" or
	// "virtiofs". See ChooseVirtiofs.
	Shares string
	// StartDaemon starts a program that outlives tender, logging to logPath,
	// and returns its pid; nil means runner.StartDetached.
	StartDaemon func(logPath, name string, args ...string) (int, error)
	// StreamFilter is a command that, with the word compress or
	// decompress after it, filters a saved machine's stream from stdin to
	// stdout (tender itself: see package statestream); none saves it raw.
	StreamFilter []string
	// Warn prints a one-line warning for the user (a saved state that
	// cannot be resumed); nil: none is printed.
	Warn func(line string)
}

var (
	_ vm.Driver    = (*Driver)(nil)
	_ vm.Resetter  = (*Driver)(nil)
	_ vm.Forwarder = (*Driver)(nil)
)

// New returns a driver that runs QEMU through r on this host.
func New(r runner.Runner) *Driver { return &Driver{Runner: r} }

// Name is "qemu".
func (d *Driver) Name() string { return "qemu" }

func (d *Driver) host(s vm.Spec) (Host, error) {
	var h Host
	if d.Host != nil {
		h = *d.Host
	} else {
		var err error
		if h, err = LocalHost(s.Arch); err != nil {
			return Host{}, err
		}
	}
	if d.Accel != "" && d.Accel != Auto {
		h.Accel = d.Accel
	} else if h.Accel == KVM && kvmFailedBefore(s.Dir) {
		h.Accel = TCG
	}
	if d.Shares == Share9p || len(s.Shares) == 0 {
		h.Virtiofsd = nil
		return h, nil
	}
	if d.Host == nil {
		h.Virtiofsd = FindVirtiofsd(h.QEMU)
	}
	v, err := ChooseVirtiofs(d.Shares, h.GOOS, h.Virtiofsd, h.Root)
	if err != nil {
		return Host{}, err
	}
	h.Virtiofsd = v
	return h, nil
}

// AccelFor returns the accelerator Start will use for s: the override, or
// what this host offers, and TCG for a guest of another arch. When it is
// TCG the caller prints TCGWarning. It starts no program.
func (d *Driver) AccelFor(s vm.Spec) (Accel, error) {
	h, err := d.host(s)
	if err != nil {
		return "", err
	}
	arch := s.Arch
	if arch == "" {
		arch = h.GOARCH
	}
	garch, err := guestArch(arch)
	if err != nil {
		return "", err
	}
	return effectiveAccel(garch, h), nil
}

// Create checks what Start will need: QEMU installed, the ISO present and an
// ISO 9660 image. QEMU has nothing to register; the data disk is made by
// provision.
func (d *Driver) Create(ctx context.Context, s vm.Spec) error {
	if _, err := d.host(s); err != nil {
		return err
	}
	return iso.Check(s.ISO)
}

// PortInUseError is Start's error when QEMU cannot forward a host port
// because something else listens on it.
type PortInUseError struct {
	Port int
	Flag string // the tender flag that picks this port, if known
}

func (e *PortInUseError) Error() string {
	msg := fmt.Sprintf("port %d on 127.0.0.1 is already in use", e.Port)
	if e.Flag != "" {
		msg += fmt.Sprintf(" (choose another with %s)", e.Flag)
	}
	return msg
}

// hostfwdFailure is compiled on first use, not by package initialisation,
// which every tender command pays (`tender shellinit` in each new shell).
var hostfwdFailure = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`Could not set up host forwarding rule '[a-z]+:[^:]*:(\d+)-`)
})

// Start boots the machine. On a running machine it does nothing. It removes
// runtime files left by a QEMU that is gone, then runs QEMU: on unix hosts
// QEMU daemonizes and the run returns once the VM is running, with QEMU's
// complaint (bad option, port in use, disk locked) as the error otherwise.
// The caller holds the machine lock: two concurrent Starts would race.
func (d *Driver) Start(ctx context.Context, s vm.Spec) error {
	st, err := d.State(ctx, s)
	if err != nil {
		return err
	}
	if st == vm.Running || st == vm.Paused {
		d.resumePaused(ctx, s)
		return nil
	}
	host, err := d.host(s)
	if err != nil {
		return err
	}
	d.removeRuntimeFiles(s)
	if host.GOOS == "windows" {
		return d.startDetached(ctx, s, host)
	}
	boot, err := kernelBoot(s, host)
	if err != nil {
		return err
	}
	argv, err := Cmdline(s, host, boot)
	if err != nil {
		return err
	}
	if err := prepareNetwork(s); err != nil {
		return err
	}
	fp := fingerprint(s, host, argv[0])
	uri, in, warning := d.incoming(s, fp)
	d.warn(warning)
	if in != "" {
		argv = append(argv, "-incoming", uri)
	}
	if err := writeBootFile(s, fp); err != nil {
		return err
	}
	if err := d.startVirtiofsd(ctx, s, host); err != nil {
		d.stopVirtiofsd(s)
		return err
	}
	if _, err := d.Runner.Run(ctx, argv[0], argv[1:]...); err != nil {
		d.stopVirtiofsd(s)
		if in != "" { // QEMU never read it: still the machine's state
			_ = os.Rename(in, filepath.Join(s.Dir, StateFile))
		}
		return startError(s, err)
	}
	if in == "" {
		if host.Accel == KVM && (d.Accel == "" || d.Accel == Auto) {
			if err := d.watchKVM(ctx, s); errors.Is(err, errKVMFailed) {
				return d.startWithTCG(ctx, s)
			}
		}
		return nil
	}
	err = d.waitResumed(ctx, s)
	// Loaded or not, the stream is spent: the guest's disk moves on.
	_ = d.DiscardState(s)
	if err == nil {
		return nil
	}
	d.warn(discardWarning(s.Name, err.Error()))
	if err := d.Stop(ctx, s, true); err != nil {
		return err
	}
	return d.Start(ctx, s)
}

func (d *Driver) warn(line string) {
	if line != "" && d.Warn != nil {
		d.Warn(line)
	}
}

// startError turns QEMU's port-forwarding failure into a PortInUseError.
func startError(s vm.Spec, err error) error {
	m := hostfwdFailure().FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("starting QEMU for %q: %w", s.Name, err)
	}
	port, _ := strconv.Atoi(m[1])
	e := &PortInUseError{Port: port}
	switch port {
	case s.SSHPort:
		e.Flag = "--sshport"
	case s.DockerPort:
		e.Flag = "--dockerport"
	}
	return e
}

// State reads the pidfile and checks that its pid is alive and is this
// machine's QEMU (its argv holds our -name and -pidfile). No pidfile:
// stopped, since QEMU removes it on a clean exit. A pidfile whose QEMU is
// gone (killed, crashed, host rebooted) or whose pid now belongs to another
// program: aborted. It starts no program and opens no socket, so it never
// reports paused (tender never pauses a VM; only a person at the monitor
// could).
func (d *Driver) State(ctx context.Context, s vm.Spec) (vm.State, error) {
	pid, err := readPid(filepath.Join(s.Dir, PidFile))
	switch {
	case errors.Is(err, fs.ErrNotExist) && savedState(s):
		return vm.Saved, nil
	case errors.Is(err, fs.ErrNotExist):
		return vm.Stopped, nil
	case err != nil:
		return vm.Aborted, nil // a torn or foreign pidfile names no QEMU of ours
	}
	if isOurs(pid, markers(s)) {
		return vm.Running, nil
	}
	return vm.Aborted, nil
}

// markers are argv elements only this machine's QEMU has.
func markers(s vm.Spec) []string {
	name := vm.Name(s.Name)
	return []string{name + "," + "process=" + name, filepath.Join(s.Dir, PidFile)}
}

// readPid parses a pidfile.
func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pidfile %q holds no pid", path)
	}
	return pid, nil
}

// runningPid returns the pid of the machine's QEMU, or ErrNotRunning.
func (d *Driver) runningPid(s vm.Spec) (int, error) {
	pid, err := readPid(filepath.Join(s.Dir, PidFile))
	if err == nil && isOurs(pid, markers(s)) {
		return pid, nil
	}
	return 0, fmt.Errorf("machine %q: %w", s.Name, vm.ErrNotRunning)
}

// qmp runs one QMP command on the machine's running QEMU.
func (d *Driver) qmp(ctx context.Context, s vm.Spec, command string, args any) ([]byte, error) {
	if _, err := d.runningPid(s); err != nil {
		return nil, err
	}
	network, addr, err := qmpAddr(s)
	if err != nil {
		return nil, err
	}
	return qmpRun(ctx, network, addr, command, args)
}

// qmpAddr is where the machine's monitor listens: the unix socket, or on
// Windows the TCP port Start recorded.
func qmpAddr(s vm.Spec) (network, addr string, err error) {
	b, err := os.ReadFile(filepath.Join(s.Dir, QMPPortFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "unix", filepath.Join(s.Dir, QMPSocket), nil
	}
	if err != nil {
		return "", "", err
	}
	port, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return "", "", fmt.Errorf("%s holds no port", QMPPortFile)
	}
	return "tcp", "127.0.0.1:" + strconv.Itoa(port), nil
}

// Stop with force=false presses the ACPI power button (QMP
// system_powerdown) and returns; the guest shuts down and QEMU exits on its
// own, so callers poll State. On a machine that is not running it returns
// vm.ErrNotRunning.
//
// With force=true it ends QEMU at once (QMP quit, or SIGKILL of the verified
// pid when the monitor does not answer) and removes the runtime files; the
// guest loses unsynced writes. On a machine that is not running it only
// removes stale runtime files (so an aborted machine becomes stopped) and
// returns nil.
func (d *Driver) Stop(ctx context.Context, s vm.Spec, force bool) error {
	if !force {
		_, err := d.qmp(ctx, s, "system_powerdown", nil)
		return err
	}
	pid, err := d.runningPid(s)
	if err != nil {
		d.removeRuntimeFiles(s)
		return nil
	}
	qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, qerr := d.qmp(qctx, s, "quit", nil)
	cancel()
	if qerr != nil || !waitGone(ctx, pid, markers(s), 5*time.Second) {
		if p, err := os.FindProcess(pid); err == nil && isOurs(pid, markers(s)) {
			if err := p.Kill(); err != nil && isOurs(pid, markers(s)) {
				return fmt.Errorf("killing QEMU (pid %d) of %q: %w", pid, s.Name, err)
			}
		}
		if !waitGone(ctx, pid, markers(s), 5*time.Second) {
			return fmt.Errorf("QEMU (pid %d) of %q did not exit", pid, s.Name)
		}
	}
	d.removeRuntimeFiles(s)
	return nil
}

// waitGone polls until pid is no longer our QEMU, for at most limit.
func waitGone(ctx context.Context, pid int, markers []string, limit time.Duration) bool {
	end := time.Now().Add(limit)
	for isOurs(pid, markers) {
		if time.Now().After(end) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// removeRuntimeFiles deletes the pidfile, QMP socket and the rest, unless
// this machine's QEMU is running.
func (d *Driver) removeRuntimeFiles(s vm.Spec) {
	if _, err := d.runningPid(s); err == nil {
		return
	}
	for _, f := range []string{PidFile, QMPSocket, QMPPortFile, StderrFile, KernelFile, InitrdFile, BootFile, StateTempFile, StateLoadingFile} {
		os.Remove(filepath.Join(s.Dir, f))
	}
	if s.Network != nil {
		_ = removeStaleSocket(s.Network.VMSocket) // QEMU leaves it behind when it exits
	}
	d.stopVirtiofsd(s)
}

// prepareNetwork readies the machine's end of its tender network NIC: the
// socket's directory, and no stale socket where QEMU binds. (QEMU 7.2
// unlinks the path itself before binding, but the driver does not rely on
// one version's habit.) The caller has checked that this machine's QEMU is
// not running, so a socket there is stale.
func prepareNetwork(s vm.Spec) error {
	if s.Network == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.Network.VMSocket), 0o700); err != nil {
		return fmt.Errorf("network %q: %w", s.Network.Name, err)
	}
	if err := removeStaleSocket(s.Network.VMSocket); err != nil {
		return fmt.Errorf("network %q: %w", s.Network.Name, err)
	}
	return nil
}

// removeStaleSocket removes the unix socket at path, if there is one. A
// file of another kind there is an error: it is not tender's to delete.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSocket == 0:
		return fmt.Errorf("%s is in the way of the NIC's socket and is not a socket; move it away", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the stale socket %s: %w", path, err)
	}
	return nil
}

// Delete force-stops a running machine and removes the driver's runtime
// files; the machine directory, disk and serial log stay for the caller.
func (d *Driver) Delete(ctx context.Context, s vm.Spec) error {
	if err := d.Stop(ctx, s, true); err != nil {
		return err
	}
	return d.DiscardState(s)
}

// Reset hard-reboots the guest (QMP system_reset), like a reset button.
func (d *Driver) Reset(ctx context.Context, s vm.Spec) error {
	_, err := d.qmp(ctx, s, "system_reset", nil)
	return err
}

// hmp runs a human monitor command; HMP reports failures as text.
func (d *Driver) hmp(ctx context.Context, s vm.Spec, line string) (string, error) {
	raw, err := d.qmp(ctx, s, "human-monitor-command", map[string]string{"command-line": line})
	if err != nil {
		return "", err
	}
	var out string
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return "", fmt.Errorf("qmp human-monitor-command: %w", err)
		}
	}
	return strings.TrimSpace(out), nil
}

// ShareType implements vm.ShareTyper: "virtiofs" when Start would serve the
// writable shares with virtiofsd on this host (see ChooseVirtiofs), else
// "9p". The guest mounts whichever the host offers at each boot, so this
// only sets its first try.
func (d *Driver) ShareType() string {
	h, err := d.host(vm.Spec{Shares: []vm.Share{{}}})
	if err != nil || h.Virtiofsd == nil {
		return Share9p
	}
	return ShareVirtiofs
}

// Forward makes 127.0.0.1:hostPort on the host reach guestPort in the guest
// (HMP hostfwd_add on the user-mode network).
func (d *Driver) Forward(ctx context.Context, s vm.Spec, proto string, hostPort, guestPort int) error {
	if err := vm.CheckProto(proto); err != nil {
		return err
	}
	out, err := d.hmp(ctx, s, fmt.Sprintf("hostfwd_add net0 %s:127.0.0.1:%d-:%d", proto, hostPort, guestPort))
	if err != nil {
		return err
	}
	if out != "" { // silence is success; QEMU prints "Could not set up host forwarding rule …"
		if strings.Contains(out, "Could not set up host forwarding rule") {
			return &PortInUseError{Port: hostPort}
		}
		return fmt.Errorf("forwarding %s port %d: %s", proto, hostPort, out)
	}
	return nil
}

// Unforward removes the forward of 127.0.0.1:hostPort (HMP hostfwd_remove).
// Removing a forward that does not exist is not an error.
func (d *Driver) Unforward(ctx context.Context, s vm.Spec, proto string, hostPort int) error {
	if err := vm.CheckProto(proto); err != nil {
		return err
	}
	out, err := d.hmp(ctx, s, fmt.Sprintf("hostfwd_remove net0 %s:127.0.0.1:%d", proto, hostPort))
	if err != nil {
		return err
	}
	if out != "" && !strings.Contains(out, "removed") && !strings.Contains(out, "not found") {
		return fmt.Errorf("removing the %s forward of port %d: %s", proto, hostPort, out)
	}
	return nil
}

// kernelBoot copies the kernel and initramfs of an arm64 guest's image into
// the machine directory and reads its command line (see KernelBoot). They
// are copied at every start, so an upgraded image boots its own kernel; the
// copy takes milliseconds. Other guests boot the ISO itself: nil.
func kernelBoot(s vm.Spec, host Host) (*KernelBoot, error) {
	arch := s.Arch
	if arch == "" {
		arch = host.GOARCH
	}
	if garch, err := guestArch(arch); err != nil || garch != "aarch64" {
		return nil, nil
	}
	f, err := os.Open(s.ISO)
	if err != nil {
		return nil, fmt.Errorf("opening the image: %w", err)
	}
	defer f.Close()
	boot := &KernelBoot{Kernel: filepath.Join(s.Dir, KernelFile), Initrd: filepath.Join(s.Dir, InitrdFile)}
	for _, c := range []struct{ from, to string }{{iso.KernelPath, boot.Kernel}, {iso.InitrdPath, boot.Initrd}} {
		if err := copyOut(f, c.from, c.to); err != nil {
			return nil, fmt.Errorf("the image %s cannot boot on arm64: %w (is it tender-arm64.iso? build it with `make iso ARCH=arm64`)", s.ISO, err)
		}
	}
	cmdline, err := iso.ReadFile(f, iso.CmdlinePath)
	if err != nil {
		return nil, fmt.Errorf("the image %s cannot boot on arm64: %w (is it tender-arm64.iso? build it with `make iso ARCH=arm64`)", s.ISO, err)
	}
	boot.Append = strings.TrimSpace(string(cmdline))
	return boot, nil
}

// copyOut writes the file at name inside the ISO to path, atomically. It does
// not go through atomicfile: the copy is made again at every start, so a
// crash costs nothing and an fsync of the kernel and initramfs would only
// slow every `tender up`.
func copyOut(img *os.File, name, path string) error {
	src, err := iso.OpenFile(img, name)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return fmt.Errorf("copying %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
