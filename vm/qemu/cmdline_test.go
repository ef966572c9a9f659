package qemu

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tenderdev/tender/vm"
)

func testSpec() vm.Spec {
	return vm.Spec{
		Name:       "default",
		Dir:        "/home/u/.tender/machines/default",
		ISO:        "/home/u/.tender/cache/tender-v1.0.0.iso",
		Disk:       "/home/u/.tender/machines/default/disk.raw",
		CPUs:       2,
		MemoryMiB:  2048,
		SSHPort:    2022,
		DockerPort: 2376,
		SerialLog:  "/home/u/.tender/machines/default/serial.log",
		Arch:       "amd64",
	}
}

// tail is the argv every unix amd64 host shares after -smp/-m.
func unixTail(extra ...string) []string {
	out := []string{
		"-device", "virtio-balloon-pci,free-page-reporting=on",
		"-boot", "d", "-cdrom", "/home/u/.tender/cache/tender-v1.0.0.iso",
		"-drive", "file=/home/u/.tender/machines/default/disk.raw,if=virtio,format=raw,discard=unmap",
		"-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:2022-:22,hostfwd=tcp:127.0.0.1:2376-:2376",
		"-device", "virtio-net-pci,netdev=net0",
	}
	out = append(out, extra...)
	return append(out,
		"-qmp", "unix:/home/u/.tender/machines/default/qmp.sock,server=on,wait=off",
		"-serial", "file:/home/u/.tender/machines/default/serial.log",
		"-display", "none",
		"-pidfile", "/home/u/.tender/machines/default/qemu.pid",
		"-daemonize",
		"-name", "tender-default,process=tender-default",
		"-rtc", "base=utc",
	)
}

// armBoot is what Start extracts from an arm64 image into the machine directory.
var armBoot = KernelBoot{
	Kernel: "/home/u/.tender/machines/default/vmlinuz",
	Initrd: "/home/u/.tender/machines/default/initrd.img",
	Append: "console=ttyAMA0 quiet",
}

// armTail is the argv every unix host shares after -smp/-m for an arm64
// guest: direct kernel boot, the ISO as a SCSI CD for the root; extra
// comes after the NAT NIC.
func armTail(extra ...string) []string {
	out := []string{
		"-device", "virtio-balloon-pci,free-page-reporting=on",
		"-kernel", "/home/u/.tender/machines/default/vmlinuz",
		"-initrd", "/home/u/.tender/machines/default/initrd.img",
		"-append", "console=ttyAMA0 quiet",
		"-drive", "file=/home/u/.tender/cache/tender-v1.0.0.iso,if=none,id=cdrom0,media=cdrom,readonly=on",
		"-device", "virtio-scsi-pci,id=scsi0",
		"-device", "scsi-cd,bus=scsi0.0,drive=cdrom0",
		"-drive", "file=/home/u/.tender/machines/default/disk.raw,if=virtio,format=raw,discard=unmap",
		"-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:2022-:22,hostfwd=tcp:127.0.0.1:2376-:2376",
		"-device", "virtio-net-pci,netdev=net0",
	}
	out = append(out, extra...)
	return append(out,
		"-qmp", "unix:/home/u/.tender/machines/default/qmp.sock,server=on,wait=off",
		"-serial", "file:/home/u/.tender/machines/default/serial.log",
		"-display", "none",
		"-pidfile", "/home/u/.tender/machines/default/qemu.pid",
		"-daemonize",
		"-name", "tender-default,process=tender-default",
		"-rtc", "base=utc",
	)
}

// labNIC is a machine's NIC on the tender network "lab", its sockets in a
// directory with a comma (QEMU's option lists escape it by doubling).
func labNIC() *vm.NetworkAttachment {
	return &vm.NetworkAttachment{
		Name: "lab", MAC: "52:54:00:6c:61:62", Address: "192.168.127.2", Subnet: "192.168.127.0/24",
		VMSocket:     "/home/u/.tender/networks/lab,1/default.sock",
		SwitchSocket: "/home/u/.tender/networks/lab,1/switch-default.sock",
	}
}

// labArgs is labNIC's argv.
var labArgs = []string{
	"-netdev", "dgram,id=net1,local.type=unix,local.path=/home/u/.tender/networks/lab,,1/default.sock,remote.type=unix,remote.path=/home/u/.tender/networks/lab,,1/switch-default.sock",
	"-device", "virtio-net-pci,netdev=net1,mac=52:54:00:6c:61:62",
}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestCmdline(t *testing.T) {
	withShares := testSpec()
	withShares.Shares = []vm.Share{
		{HostPath: "/Users/u", Tag: "home"},
		{HostPath: "/data/a,b", Tag: "ab", ReadOnly: true},
	}
	oneCPU := testSpec()
	oneCPU.CPUs = 1
	noSerial := testSpec()
	noSerial.SerialLog = ""
	noArch := testSpec()
	noArch.Arch = ""
	arm := testSpec()
	arm.Arch = "arm64"
	onLab := testSpec()
	onLab.Network = labNIC()
	armOnLab := arm
	armOnLab.Network = labNIC()

	tests := []struct {
		name string
		spec vm.Spec
		host Host
		want []string
	}{
		{
			name: "linux kvm",
			spec: testSpec(),
			host: Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM, QEMU: "/usr/bin/qemu-system-x86_64"},
			want: cat([]string{"/usr/bin/qemu-system-x86_64", "-machine", "q35", "-accel", "kvm", "-cpu", "host", "-smp", "2", "-m", "2048"}, unixTail()),
		},
		{
			name: "macOS intel hvf",
			spec: testSpec(),
			host: Host{GOOS: "darwin", GOARCH: "amd64", Accel: HVF, QEMU: "/usr/local/bin/qemu-system-x86_64"},
			want: cat([]string{"/usr/local/bin/qemu-system-x86_64", "-machine", "q35", "-accel", "hvf", "-cpu", "host", "-smp", "2", "-m", "2048"}, unixTail()),
		},
		{
			name: "tcg fallback: one TCG thread (see Cmdline)",
			spec: testSpec(),
			host: Host{GOOS: "linux", GOARCH: "amd64", Accel: TCG},
			want: cat([]string{"qemu-system-x86_64", "-machine", "q35", "-accel", "tcg,thread=single", "-cpu", "max", "-smp", "2", "-m", "2048"}, unixTail()),
		},
		{
			name: "tcg with 1 cpu",
			spec: oneCPU,
			host: Host{GOOS: "linux", GOARCH: "amd64", Accel: TCG},
			want: cat([]string{"qemu-system-x86_64", "-machine", "q35", "-accel", "tcg,thread=single", "-cpu", "max", "-smp", "1", "-m", "2048"}, unixTail()),
		},
		{
			name: "empty accel means tcg",
			spec: testSpec(),
			host: Host{GOOS: "linux", GOARCH: "amd64"},
			want: cat([]string{"qemu-system-x86_64", "-machine", "q35", "-accel", "tcg,thread=single", "-cpu", "max", "-smp", "2", "-m", "2048"}, unixTail()),
		},
		{
			name: "amd64 guest on apple silicon: tcg",
			spec: testSpec(),
			host: Host{GOOS: "darwin", GOARCH: "arm64", Accel: HVF, QEMU: "/opt/homebrew/bin/qemu-system-x86_64"},
			want: cat([]string{"/opt/homebrew/bin/qemu-system-x86_64", "-machine", "q35", "-accel", "tcg,thread=single", "-cpu", "max", "-smp", "2", "-m", "2048"}, unixTail()),
		},
		{
			name: "empty arch means the host's",
			spec: noArch,
			host: Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM},
			want: cat([]string{"qemu-system-x86_64", "-machine", "q35", "-accel", "kvm", "-cpu", "host", "-smp", "2", "-m", "2048"}, unixTail()),
		},
		{
			name: "no serial log path means DIR/serial.log",
			spec: noSerial,
			host: Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM},
			want: cat([]string{"qemu-system-x86_64", "-machine", "q35", "-accel", "kvm", "-cpu", "host", "-smp", "2", "-m", "2048"}, unixTail()),
		},
		{
			name: "shares become virtfs, commas escaped",
			spec: withShares,
			host: Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM},
			want: cat([]string{"qemu-system-x86_64", "-machine", "q35", "-accel", "kvm", "-cpu", "host", "-smp", "2", "-m", "2048"}, unixTail(
				"-virtfs", "local,path=/Users/u,mount_tag=home,security_model=none,id=share0",
				"-virtfs", "local,path=/data/a,,b,mount_tag=ab,security_model=none,id=share1,readonly=on",
			)),
		},
		{
			name: "virtiofs: shared guest memory, a vhost-user-fs device per writable share, read-only stays 9p",
			spec: withShares,
			host: Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM, Virtiofsd: &Virtiofsd{Path: "/usr/libexec/virtiofsd", Rust: true}},
			want: cat([]string{"qemu-system-x86_64", "-machine", "q35", "-accel", "kvm", "-cpu", "host", "-smp", "2", "-m", "2048",
				"-object", "memory-backend-memfd,id=mem,size=2048M,share=on", "-numa", "node,memdev=mem"}, unixTail(
				"-chardev", "socket,id=vfs0,path=/home/u/.tender/machines/default/virtiofs0.sock",
				"-device", "vhost-user-fs-pci,chardev=vfs0,tag=home,queue-size=1024",
				"-virtfs", "local,path=/data/a,,b,mount_tag=ab,security_model=none,id=share1,readonly=on",
			)),
		},
		{
			name: "virtiofsd but no shares: plain memory",
			spec: testSpec(),
			host: Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM, Virtiofsd: &Virtiofsd{Path: "/usr/lib/qemu/virtiofsd"}},
			want: cat([]string{"qemu-system-x86_64", "-machine", "q35", "-accel", "kvm", "-cpu", "host", "-smp", "2", "-m", "2048"}, unixTail()),
		},
		{
			name: "windows whpx: tcp qmp, no daemonize, no virtfs",
			spec: withShares,
			host: Host{GOOS: "windows", GOARCH: "amd64", Accel: WHPX, QEMU: `C:\Program Files\qemu\qemu-system-x86_64.exe`, QMPPort: 49152},
			want: []string{
				`C:\Program Files\qemu\qemu-system-x86_64.exe`,
				"-machine", "q35", "-accel", "whpx", "-smp", "2", "-m", "2048",
				"-device", "virtio-balloon-pci,free-page-reporting=on",
				"-boot", "d", "-cdrom", "/home/u/.tender/cache/tender-v1.0.0.iso",
				"-drive", "file=/home/u/.tender/machines/default/disk.raw,if=virtio,format=raw,discard=unmap",
				"-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:2022-:22,hostfwd=tcp:127.0.0.1:2376-:2376",
				"-device", "virtio-net-pci,netdev=net0",
				"-qmp", "tcp:127.0.0.1:49152,server=on,wait=off",
				"-serial", "file:/home/u/.tender/machines/default/serial.log",
				"-display", "none",
				"-pidfile", "/home/u/.tender/machines/default/qemu.pid",
				"-name", "tender-default,process=tender-default",
				"-rtc", "base=utc",
			},
		},
		{
			name: "on a tender network: a second virtio NIC after net0, its frames as unix datagrams, commas escaped",
			spec: onLab,
			host: Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM},
			want: cat([]string{"qemu-system-x86_64", "-machine", "q35", "-accel", "kvm", "-cpu", "host", "-smp", "2", "-m", "2048"}, unixTail(labArgs...)),
		},
		{
			name: "arm64 guest on a tender network: the same virtio-net-pci as its net0",
			spec: armOnLab,
			host: Host{GOOS: "darwin", GOARCH: "arm64", Accel: HVF},
			want: cat([]string{"qemu-system-aarch64", "-machine", "virt", "-accel", "hvf", "-cpu", "host", "-smp", "2", "-m", "2048"}, armTail(labArgs...)),
		},
		{
			name: "arm64 guest on apple silicon: hvf, -cpu host, direct kernel boot",
			spec: arm,
			host: Host{GOOS: "darwin", GOARCH: "arm64", Accel: HVF, QEMU: "/opt/homebrew/bin/qemu-system-aarch64"},
			want: cat([]string{"/opt/homebrew/bin/qemu-system-aarch64", "-machine", "virt", "-accel", "hvf", "-cpu", "host", "-smp", "2", "-m", "2048"}, armTail()),
		},
		{
			name: "arm64 guest on linux arm64: kvm with the host's gic",
			spec: arm,
			host: Host{GOOS: "linux", GOARCH: "arm64", Accel: KVM},
			want: cat([]string{"qemu-system-aarch64", "-machine", "virt,gic-version=max", "-accel", "kvm", "-cpu", "host", "-smp", "2", "-m", "2048"}, armTail()),
		},
		{
			name: "arm64 guest on linux arm64 without kvm: tcg",
			spec: arm,
			host: Host{GOOS: "linux", GOARCH: "arm64", Accel: TCG},
			want: cat([]string{"qemu-system-aarch64", "-machine", "virt", "-accel", "tcg,thread=single", "-cpu", "max", "-smp", "2", "-m", "2048"}, armTail()),
		},
		{
			name: "arm64 guest on an amd64 host: tcg even with kvm",
			spec: arm,
			host: Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM},
			want: cat([]string{"qemu-system-aarch64", "-machine", "virt", "-accel", "tcg,thread=single", "-cpu", "max", "-smp", "2", "-m", "2048"}, armTail()),
		},
		{
			name: "arm64 guest on an intel mac: tcg even with hvf",
			spec: arm,
			host: Host{GOOS: "darwin", GOARCH: "amd64", Accel: HVF},
			want: cat([]string{"qemu-system-aarch64", "-machine", "virt", "-accel", "tcg,thread=single", "-cpu", "max", "-smp", "2", "-m", "2048"}, armTail()),
		},
		{
			name: "arm64 guest on windows arm64: whpx is not offered for arm64 guests, tcp qmp",
			spec: arm,
			host: Host{GOOS: "windows", GOARCH: "arm64", Accel: TCG, QMPPort: 49152},
			want: cat([]string{"qemu-system-aarch64", "-machine", "virt", "-accel", "tcg,thread=single", "-cpu", "max", "-smp", "2", "-m", "2048",
				"-device", "virtio-balloon-pci,free-page-reporting=on",
				"-kernel", "/home/u/.tender/machines/default/vmlinuz",
				"-initrd", "/home/u/.tender/machines/default/initrd.img",
				"-append", "console=ttyAMA0 quiet",
				"-drive", "file=/home/u/.tender/cache/tender-v1.0.0.iso,if=none,id=cdrom0,media=cdrom,readonly=on",
				"-device", "virtio-scsi-pci,id=scsi0",
				"-device", "scsi-cd,bus=scsi0.0,drive=cdrom0",
				"-drive", "file=/home/u/.tender/machines/default/disk.raw,if=virtio,format=raw,discard=unmap",
				"-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:2022-:22,hostfwd=tcp:127.0.0.1:2376-:2376",
				"-device", "virtio-net-pci,netdev=net0",
				"-qmp", "tcp:127.0.0.1:49152,server=on,wait=off",
				"-serial", "file:/home/u/.tender/machines/default/serial.log",
				"-display", "none",
				"-pidfile", "/home/u/.tender/machines/default/qemu.pid",
				"-name", "tender-default,process=tender-default",
				"-rtc", "base=utc",
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var boot *KernelBoot
			if tt.spec.Arch == "arm64" {
				boot = &armBoot
			}
			got, err := Cmdline(tt.spec, tt.host, boot)
			if err != nil {
				t.Fatalf("Cmdline: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("argv differs\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

func TestCmdlineErrors(t *testing.T) {
	linux := Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM}
	mod := func(f func(*vm.Spec)) vm.Spec {
		s := testSpec()
		f(&s)
		return s
	}
	tests := []struct {
		name string
		spec vm.Spec
		host Host
		want []string // substrings of the error, all of them
	}{
		{"unknown arch", mod(func(s *vm.Spec) { s.Arch = "riscv64" }), linux,
			[]string{`unknown architecture "riscv64"`}},
		{"unknown host arch with empty spec arch", mod(func(s *vm.Spec) { s.Arch = "" }), Host{GOOS: "linux", GOARCH: "mips"},
			[]string{`unknown architecture "mips"`}},
		{"arm64 without a kernel to boot", mod(func(s *vm.Spec) { s.Arch = "arm64" }), linux,
			[]string{"an arm64 guest boots its image's kernel directly: no kernel and initramfs given"}},
		{"every problem at once", mod(func(s *vm.Spec) {
			s.Name, s.Dir, s.ISO, s.Disk, s.CPUs, s.MemoryMiB, s.SSHPort, s.DockerPort = "a,b", "rel", "", "", 0, 64, 0, 70000
		}), linux, []string{
			`machine name "a,b"`, `machine directory "rel" must be an absolute path`, "no ISO", "no data disk",
			"cpus must be at least 1, got 0", "memory must be at least 128 MiB, got 64",
			"ssh port must be between 1 and 65535, got 0", "docker port must be between 1 and 65535, got 70000",
		}},
		{"same ports", mod(func(s *vm.Spec) { s.DockerPort = s.SSHPort }), linux,
			[]string{"ssh port and docker port are both 2022"}},
		{"bad share", mod(func(s *vm.Spec) { s.Shares = []vm.Share{{HostPath: "rel", Tag: "a b"}} }), linux,
			[]string{`share tag "a b"`, `share path "rel" must be absolute`}},
		{"socket path too long", mod(func(s *vm.Spec) { s.Dir = "/" + strings.Repeat("d", 100) }), linux,
			[]string{"use a shorter TENDER_HOME"}},
		{"windows without a qmp port", testSpec(), Host{GOOS: "windows", GOARCH: "amd64", Accel: WHPX},
			[]string{"windows needs a TCP port for QMP, got 0"}},
		{"network socket path too long: one line naming the path", mod(func(s *vm.Spec) {
			s.Network = labNIC()
			s.Network.VMSocket = "/" + strings.Repeat("n", 103)
		}), linux, []string{`network "lab": the machine's socket path "/` + strings.Repeat("n", 103) + `" is longer than 103 bytes (use a shorter TENDER_HOME)`}},
		{"bad network attachment", mod(func(s *vm.Spec) {
			s.Network = labNIC()
			s.Network.MAC, s.Network.SwitchSocket = "53:54:00:6c:61:62", "switch.sock"
		}), linux, []string{
			`network "lab": MAC address "53:54:00:6c:61:62" must be a unicast address like "52:54:00:12:34:56"`,
			`network "lab": the switch socket path "switch.sock" must be absolute`,
		}},
		{"MAC without colons", mod(func(s *vm.Spec) { s.Network = labNIC(); s.Network.MAC = "52-54-00-6c-61-62" }), linux,
			[]string{`MAC address "52-54-00-6c-61-62" must be`}},
		{"windows on a tender network", mod(func(s *vm.Spec) { s.Network = labNIC() }), Host{GOOS: "windows", GOARCH: "amd64", Accel: WHPX, QMPPort: 49152},
			[]string{`network "lab": QEMU on Windows has no unix datagram sockets for a NIC on a tender network: not supported by this driver`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv, err := Cmdline(tt.spec, tt.host, nil)
			if err == nil {
				t.Fatalf("Cmdline succeeded: %q", argv)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestBinary(t *testing.T) {
	for arch, want := range map[string]string{"amd64": "qemu-system-x86_64", "x86_64": "qemu-system-x86_64", "arm64": "qemu-system-aarch64"} {
		if got, err := Binary(arch); err != nil || got != want {
			t.Errorf("Binary(%q) = %q, %v; want %q", arch, got, err, want)
		}
	}
	if _, err := Binary("386"); err == nil {
		t.Error("Binary(386) succeeded")
	}
}

func TestCmdlineNetworkOnWindowsIsNotSupported(t *testing.T) {
	s := testSpec()
	s.Network = labNIC()
	_, err := Cmdline(s, Host{GOOS: "windows", GOARCH: "amd64", Accel: WHPX, QMPPort: 49152}, nil)
	if !errors.Is(err, vm.ErrNotSupported) {
		t.Fatalf("Cmdline = %v, want vm.ErrNotSupported", err)
	}
}
