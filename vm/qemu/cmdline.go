package qemu

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/vm"
)

// Accel is a QEMU accelerator, as passed to -accel.
type Accel string

const (
	KVM  Accel = "kvm"  // Linux
	HVF  Accel = "hvf"  // macOS Hypervisor.framework
	WHPX Accel = "whpx" // Windows Hypervisor Platform
	TCG  Accel = "tcg"  // software emulation: works everywhere, slowly
	Auto Accel = "auto" // configuration only: detect (see DetectAccel)
)

// Emulated reports whether a is software emulation, in which case the caller
// prints TCGWarning once.
func (a Accel) Emulated() bool { return a == TCG }

// TCGWarning is the one line callers print when the accelerator is TCG.
const TCGWarning = "warning: no hardware virtualization (KVM, HVF or WHPX) found; QEMU will emulate the CPU, which is slow"

// Host describes the machine QEMU runs on. It is data so Cmdline can be
// table-tested for hosts other than the one running the tests; LocalHost
// fills it for the real one.
type Host struct {
	GOOS   string // runtime.GOOS of the host
	GOARCH string // runtime.GOARCH of the host
	Accel  Accel  // what DetectAccel found; a guest of another arch always gets TCG
	// QEMU is the qemu-system-* program; empty means its plain name for the
	// guest arch (found on PATH).
	QEMU string
	// QMPPort is the 127.0.0.1 TCP port of the QMP monitor on Windows, where
	// QEMU has no unix socket chardev. Ignored elsewhere.
	QMPPort int
	// Virtiofsd is the virtiofsd found on the host. The driver keeps it only
	// when the shares are to use it (see ChooseVirtiofs); Cmdline then
	// exports the writable shares with virtiofs, and Start runs it for each
	// before QEMU. Nil: every share is 9p.
	Virtiofsd *Virtiofsd
	// Root says tender runs as root (see ChooseVirtiofs).
	Root bool
}

// Names of the driver's runtime files inside Spec.Dir. Delete removes these
// and nothing else.
const (
	PidFile     = "qemu.pid"    // written by QEMU (-pidfile), removed by QEMU on a clean exit
	QMPSocket   = "qmp.sock"    // QMP monitor, unix hosts
	QMPPortFile = "qmp.port"    // Windows: the TCP port of the QMP monitor
	StderrFile  = "qemu.stderr" // Windows: QEMU's stderr (it is not daemonized there)
	// DiskFile is the conventional name of the raw, sparse data disk.
	DiskFile = "disk.raw"
)

// KernelBoot is what an arm64 guest boots directly (-kernel, -initrd,
// -append) instead of going through UEFI firmware and a boot loader: the
// image's kernel and initramfs, copied out of the ISO into the machine
// directory (see KernelFile), and the image's kernel command line. Measured
// under TCG here, edk2 alone took ~8 s to reach its shell; direct boot skips
// it and needs no firmware file on the host.
type KernelBoot struct {
	Kernel string // path of the kernel (a gzip arm64 Image; QEMU unpacks it)
	Initrd string // path of the initramfs
	Append string // kernel command line
}

// Files Start copies out of an arm64 image into Spec.Dir (see KernelBoot).
const (
	KernelFile = "vmlinuz"
	InitrdFile = "initrd.img"
)

// machineX86 is the x86 machine type. Measured under TCG booting an ISOLINUX
// CD to /init (3 runs each way): q35 4.7–5.1 s wall, pc 5.8–7.6 s; q35 also
// gives PCIe and AHCI, and -cdrom works on both.
const machineX86 = "q35"

// guestArch maps a Spec.Arch (or GOARCH) to QEMU's name for it.
func guestArch(arch string) (string, error) {
	switch canonical, _ := vm.CanonicalArch(arch); canonical {
	case "amd64":
		return "x86_64", nil
	case "arm64":
		return "aarch64", nil
	}
	return "", fmt.Errorf("unknown architecture %q (tender supports amd64 and arm64)", arch)
}

// Binary is the name of the QEMU program for a guest arch ("amd64", "arm64").
func Binary(arch string) (string, error) {
	a, err := guestArch(arch)
	if err != nil {
		return "", err
	}
	return "qemu-system-" + a, nil
}

// escapeOpt doubles commas, QEMU's escape for a value inside a -drive or
// -virtfs option list.
func escapeOpt(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// Cmdline returns the full QEMU argv (program first) that boots s on host.
// It is pure: it touches no file and starts nothing. An empty s.Arch means
// the host's arch. An amd64 guest boots the ISO as a CD (ISOLINUX); an arm64
// guest boots boot, which must be set (see KernelBoot), on the virt machine
// and reads its root from the ISO as a SCSI CD. Spec.Shares become
// vhost-user-fs devices connected to host.Virtiofsd's sockets (guest RAM is
// then a shared memfd, which virtiofsd maps) or -virtfs 9p exports (see
// usesVirtiofs); pass none to leave them out. Windows builds of QEMU have no
// virtfs, so shares are left out there. On unix hosts QEMU daemonizes and serves QMP on DIR/qmp.sock; on
// Windows it serves QMP on 127.0.0.1:host.QMPPort and the caller starts it
// detached.
func Cmdline(s vm.Spec, host Host, boot *KernelBoot) ([]string, error) {
	arch := s.Arch
	if arch == "" {
		arch = host.GOARCH
	}
	garch, err := guestArch(arch)
	if err != nil {
		return nil, err
	}
	if err := validate(s, host); err != nil {
		return nil, err
	}
	if garch == "aarch64" && (boot == nil || boot.Kernel == "" || boot.Initrd == "") {
		return nil, errors.New("an arm64 guest boots its image's kernel directly: no kernel and initramfs given")
	}
	accel := effectiveAccel(garch, host)

	prog := host.QEMU
	if prog == "" {
		prog = "qemu-system-" + garch
	}
	args := []string{prog}
	args = append(args, machineArgs(garch, accel)...)
	args = append(args, cpuArgs(accel)...)
	args = append(args, memoryArgs(s, host)...)
	args = append(args, balloonArgs()...)
	args = append(args, bootArgs(garch, s.ISO, boot)...)
	args = append(args, diskAndNetArgs(s)...)
	args = append(args, networkArgs(s)...)
	args = append(args, shareArgs(s, host)...)
	args = append(args, processArgs(s, host)...)
	return args, nil
}

// machineArgs picks the machine type: q35 for an x86 guest, virt for an arm64
// one.
func machineArgs(garch string, accel Accel) []string {
	switch garch {
	case "x86_64":
		return []string{"-machine", machineX86}
	case "aarch64":
		machine := "virt"
		if accel == KVM {
			// The host's GIC: hosts with a GICv3 and no v2 emulation
			// refuse virt's default GICv2 under KVM.
			machine += ",gic-version=max"
		}
		return []string{"-machine", machine}
	}
	return nil
}

// cpuArgs are the accelerator and the CPU model it offers.
func cpuArgs(accel Accel) []string {
	accelOpt := string(accel)
	// TCG runs every vCPU on one host thread. Multi-threaded TCG booted
	// faster, but about one boot in fifteen the guest kernel oopsed on an
	// int3 left by live code patching (static keys: sched_clock_cpu at boot,
	// kmem_cache_* at the first container), a cross-modifying-code race we
	// could not rule out; it is also unsafe for an x86 guest on an arm64
	// host. Reliability wins.
	if accel == TCG {
		accelOpt += ",thread=single"
	}
	args := []string{"-accel", accelOpt}
	switch accel {
	case KVM, HVF:
		args = append(args, "-cpu", "host")
	case TCG:
		args = append(args, "-cpu", "max")
	}
	// WHPX: QEMU's default CPU model; "host" is not available there.
	return args
}

// memoryArgs are the vCPUs and the guest RAM, shared with virtiofsd when a
// share uses virtiofs.
func memoryArgs(s vm.Spec, host Host) []string {
	args := []string{
		"-smp", strconv.Itoa(s.CPUs),
		"-m", strconv.Itoa(s.MemoryMiB),
	}
	if host.GOOS != "windows" && slices.ContainsFunc(s.Shares, func(sh vm.Share) bool { return usesVirtiofs(sh, host) }) {
		// virtiofsd reads and writes guest memory directly: it must be a
		// shared mapping it can map too.
		args = append(args,
			"-object", fmt.Sprintf("memory-backend-memfd,id=mem,size=%dM,share=on", s.MemoryMiB),
			"-numa", "node,memdev=mem",
		)
	}
	return args
}

// balloonArgs add a balloon that never inflates: it is there for free page
// reporting. The guest hands the pages it has had free for two seconds to
// QEMU, which drops them, so they read as zeros and a save writes them as a
// few bytes each instead of their stale contents (a state file of about the
// guest's used memory, not of every page it ever touched).
func balloonArgs() []string {
	return []string{"-device", "virtio-balloon-pci,free-page-reporting=on"}
}

// bootArgs boot an x86 guest from the ISO as a CD, and an arm64 guest from
// boot's kernel with the ISO as a SCSI CD.
func bootArgs(garch, iso string, boot *KernelBoot) []string {
	switch garch {
	case "x86_64":
		// The ISO boots through ISOLINUX as a CD.
		return []string{"-boot", "d", "-cdrom", iso}
	case "aarch64":
		// The virt machine has no IDE bus for -cdrom: the ISO is a SCSI CD,
		// where stage 1 finds the root.
		return []string{
			"-kernel", boot.Kernel,
			"-initrd", boot.Initrd,
			"-append", boot.Append,
			"-drive", "file=" + escapeOpt(iso) + ",if=none,id=cdrom0,media=cdrom,readonly=on",
			"-device", "virtio-scsi-pci,id=scsi0",
			"-device", "scsi-cd,bus=scsi0.0,drive=cdrom0",
		}
	}
	return nil
}

// nicModel is the NIC device of both guest arches: q35 and virt both have
// PCI(e), and the guest's virtio_net driver needs no firmware.
const nicModel = "virtio-net-pci"

// diskAndNetArgs are the data disk and the user-mode network, with the SSH
// and Docker ports forwarded from 127.0.0.1.
func diskAndNetArgs(s vm.Spec) []string {
	return []string{
		"-drive", "file=" + escapeOpt(s.Disk) + ",if=virtio,format=raw,discard=unmap",
		"-netdev", fmt.Sprintf("user,id=net0,hostfwd=tcp:127.0.0.1:%d-:%d,hostfwd=tcp:127.0.0.1:%d-:%d", s.SSHPort, api.SSHPort, s.DockerPort, api.DockerPort),
		"-device", nicModel + ",netdev=net0",
	}
}

// networkArgs are the second NIC, on the tender network s.Network (none
// without one). It comes after net0 so that the guest's first NIC, eth0,
// stays the NAT uplink with the forwarded ports. Its frames are unix
// datagrams: QEMU binds VMSocket and sends to SwitchSocket, where the
// network's switch (tender-net) listens. QEMU 7.2 unlinks whatever is at
// VMSocket before it binds it (measured); it starts, and drops the frames,
// while the switch is not there yet.
func networkArgs(s vm.Spec) []string {
	n := s.Network
	if n == nil {
		return nil
	}
	return []string{
		"-netdev", "dgram,id=net1,local.type=unix,local.path=" + escapeOpt(n.VMSocket) +
			",remote.type=unix,remote.path=" + escapeOpt(n.SwitchSocket),
		"-device", nicModel + ",netdev=net1,mac=" + n.MAC,
	}
}

// shareArgs export each share over virtiofs or 9p; none on Windows, whose
// QEMU has neither.
func shareArgs(s vm.Spec, host Host) []string {
	if host.GOOS == "windows" {
		return nil
	}
	var args []string
	for i, sh := range s.Shares {
		if usesVirtiofs(sh, host) {
			args = append(args,
				"-chardev", fmt.Sprintf("socket,id=vfs%d,path=%s", i, escapeOpt(virtiofsSocket(s.Dir, i))),
				// A queue of 1024 lets the guest keep many requests in flight.
				"-device", fmt.Sprintf("vhost-user-fs-pci,chardev=vfs%d,tag=%s,queue-size=1024", i, sh.Tag),
			)
			continue
		}
		opt := fmt.Sprintf("local,path=%s,mount_tag=%s,security_model=none,id=share%d", escapeOpt(sh.HostPath), sh.Tag, i)
		if sh.ReadOnly {
			opt += ",readonly=on"
		}
		args = append(args, "-virtfs", opt)
	}
	return args
}

// processArgs set up the QEMU process itself: its QMP monitor, serial log,
// pidfile and name, headless and (off Windows) daemonized.
func processArgs(s vm.Spec, host Host) []string {
	serial := s.SerialLog
	if serial == "" {
		serial = filepath.Join(s.Dir, "serial.log")
	}
	var args []string
	if host.GOOS == "windows" {
		args = append(args, "-qmp", fmt.Sprintf("tcp:127.0.0.1:%d,server=on,wait=off", host.QMPPort))
	} else {
		args = append(args, "-qmp", "unix:"+escapeOpt(filepath.Join(s.Dir, QMPSocket))+",server=on,wait=off")
	}
	args = append(args,
		"-serial", "file:"+serial,
		"-display", "none",
		"-pidfile", filepath.Join(s.Dir, PidFile),
	)
	if host.GOOS != "windows" {
		args = append(args, "-daemonize")
	}
	// State finds our QEMU by this -name in its argv (see markers), telling
	// it from a process that reused its pid.
	name := vm.Name(s.Name)
	args = append(args,
		"-name", name+",process="+name,
		"-rtc", "base=utc",
	)
	return args
}

// effectiveAccel is the accelerator a guest of QEMU arch garch gets on host.
func effectiveAccel(garch string, host Host) Accel {
	harch, _ := guestArch(host.GOARCH)
	if host.Accel == "" || host.Accel == Auto || harch != garch {
		return TCG // no hardware help across architectures
	}
	return host.Accel
}

// validate collects every problem with s that would make QEMU fail.
func validate(s vm.Spec, host Host) error {
	var errs []error
	if s.Name == "" || strings.ContainsAny(s.Name, ",/\\ ") {
		errs = append(errs, fmt.Errorf("machine name %q is not usable as a QEMU name", s.Name))
	}
	if !filepath.IsAbs(s.Dir) {
		errs = append(errs, fmt.Errorf("machine directory %q must be an absolute path", s.Dir))
	}
	if s.ISO == "" {
		errs = append(errs, errors.New("no ISO to boot"))
	}
	if s.Disk == "" {
		errs = append(errs, errors.New("no data disk"))
	}
	if s.CPUs < 1 {
		errs = append(errs, fmt.Errorf("cpus must be at least 1, got %d", s.CPUs))
	}
	if s.MemoryMiB < 128 {
		errs = append(errs, fmt.Errorf("memory must be at least 128 MiB, got %d", s.MemoryMiB))
	}
	for _, p := range []struct {
		what string
		port int
	}{{"ssh port", s.SSHPort}, {"docker port", s.DockerPort}} {
		if p.port < 1 || p.port > 65535 {
			errs = append(errs, fmt.Errorf("%s must be between 1 and 65535, got %d", p.what, p.port))
		}
	}
	if s.SSHPort == s.DockerPort && s.SSHPort != 0 {
		errs = append(errs, fmt.Errorf("ssh port and docker port are both %d", s.SSHPort))
	}
	for _, sh := range s.Shares {
		if sh.Tag == "" || len(sh.Tag) > 31 || strings.ContainsAny(sh.Tag, ", ") {
			errs = append(errs, fmt.Errorf("share tag %q must be 1 to 31 characters without commas or spaces", sh.Tag))
		}
		if !filepath.IsAbs(sh.HostPath) {
			errs = append(errs, fmt.Errorf("share path %q must be absolute", sh.HostPath))
		}
	}
	errs = append(errs, validateNetwork(s.Network, host)...)
	if host.GOOS == "windows" {
		if host.QMPPort < 1 || host.QMPPort > 65535 {
			errs = append(errs, fmt.Errorf("windows needs a TCP port for QMP, got %d", host.QMPPort))
		}
	} else if sock := filepath.Join(s.Dir, QMPSocket); len(sock) > vm.MaxSocketPath {
		errs = append(errs, fmt.Errorf("QMP socket path %q is longer than %d bytes (use a shorter TENDER_HOME)", sock, vm.MaxSocketPath))
	} else if sock := virtiofsSocket(s.Dir, len(s.Shares)); host.Virtiofsd != nil && len(s.Shares) > 0 && len(sock) > vm.MaxSocketPath {
		errs = append(errs, fmt.Errorf("virtiofs socket path %q is longer than %d bytes (use a shorter TENDER_HOME)", sock, vm.MaxSocketPath))
	}
	return errors.Join(errs...)
}

// validateNetwork collects the problems of a machine's tender network NIC.
func validateNetwork(n *vm.NetworkAttachment, host Host) []error {
	if n == nil {
		return nil
	}
	var errs []error
	if host.GOOS == "windows" {
		// Windows has AF_UNIX stream sockets only; the dgram netdev needs
		// datagrams.
		errs = append(errs, fmt.Errorf("network %q: QEMU on Windows has no unix datagram sockets for a NIC on a tender network: %w", n.Name, vm.ErrNotSupported))
	}
	if mac, err := net.ParseMAC(n.MAC); err != nil || len(mac) != 6 || strings.Count(n.MAC, ":") != 5 || mac[0]&1 != 0 {
		errs = append(errs, fmt.Errorf("network %q: MAC address %q must be a unicast address like \"52:54:00:12:34:56\"", n.Name, n.MAC))
	}
	for _, p := range []struct{ what, path string }{{"machine's socket", n.VMSocket}, {"switch socket", n.SwitchSocket}} {
		switch {
		case !filepath.IsAbs(p.path):
			errs = append(errs, fmt.Errorf("network %q: the %s path %q must be absolute", n.Name, p.what, p.path))
		case len(p.path) > vm.MaxSocketPath:
			errs = append(errs, fmt.Errorf("network %q: the %s path %q is longer than %d bytes (use a shorter TENDER_HOME)", n.Name, p.what, p.path, vm.MaxSocketPath))
		}
	}
	return errs
}
