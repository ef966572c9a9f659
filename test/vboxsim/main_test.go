//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/runner"
	"github.com/tenderdev/tender/vm"
	"github.com/tenderdev/tender/vm/virtualbox"
)

// TestMain lets the test binary be the simulator: the driver test below
// runs it through a VBoxManage wrapper script.
func TestMain(m *testing.M) {
	if os.Getenv("VBOXSIM_TEST_AS_VBOXMANAGE") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// sim runs one command line in-process with a fresh or given home.
type sim struct {
	t *testing.T
}

func newSim(t *testing.T) *sim {
	t.Setenv(homeEnv, t.TempDir())
	return &sim{t: t}
}

func (s *sim) run(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// ok runs a command that must succeed.
func (s *sim) ok(args ...string) string {
	s.t.Helper()
	code, out, errOut := s.run("", args...)
	if code != 0 {
		s.t.Fatalf("VBoxManage %q: exit %d\n%s", args, code, errOut)
	}
	return out
}

// fails runs a command that must fail with code and a first error line
// containing want.
func (s *sim) fails(code int, want string, args ...string) {
	s.t.Helper()
	got, _, errOut := s.run("", args...)
	first, _, _ := strings.Cut(errOut, "\n")
	if got != code || !strings.HasPrefix(first, "VBoxManage: error: ") || !strings.Contains(first, want) {
		s.t.Errorf("VBoxManage %q: exit %d, stderr %q; want exit %d and %q", args, got, errOut, code, want)
	}
}

// create registers tender-t in a fresh directory with a disk and the ISO.
func (s *sim) create() (dir, disk, isoPath string) {
	s.t.Helper()
	dir = s.t.TempDir()
	s.ok("createvm", "--basefolder", dir, "--name", "tender-t", "--register")
	disk = filepath.Join(dir, "disk.vmdk")
	if code, _, errOut := s.run(strings.Repeat("\x00", 1<<20), "convertfromraw", "stdin", disk, "1048576", "--format", "VMDK"); code != 0 {
		s.t.Fatal(errOut)
	}
	isoPath = testfakes.TempISO(s.t, "tender-v0.1.0")
	s.ok("storagectl", "tender-t", "--name", "SATA", "--add", "sata", "--controller", "IntelAhci", "--portcount", "2", "--bootable", "on")
	s.ok("storageattach", "tender-t", "--storagectl", "SATA", "--port", "0", "--device", "0", "--type", "dvddrive", "--medium", isoPath)
	s.ok("storageattach", "tender-t", "--storagectl", "SATA", "--port", "1", "--device", "0", "--type", "hdd", "--medium", disk)
	return dir, disk, isoPath
}

// pretendRunning marks tender-t running with this test as its VM process,
// so state rules can be checked without booting.
func (s *sim) pretendRunning(state string) {
	s.t.Helper()
	reg, unlock, err := openRegistry()
	if err != nil {
		s.t.Fatal(err)
	}
	defer unlock()
	v, _ := reg.find("tender-t", "", 0)
	v.State, v.VMProcess = state, os.Getpid()
	if err := reg.save(); err != nil {
		s.t.Fatal(err)
	}
}

func TestVersionSaysSimulator(t *testing.T) {
	s := newSim(t)
	if got := s.ok("--version"); got != "7.0.20r163906 (tender VBoxManage simulator)\n" {
		t.Fatalf("--version = %q", got)
	}
	if _, err := virtualbox.ParseVersion(Version); err != nil {
		t.Fatalf("tender cannot read the simulator's version: %v", err)
	}
}

func TestGrammarRejects(t *testing.T) {
	s := newSim(t)
	s.fails(exitSyntax, "Invalid command 'frobnicate'", "frobnicate")
	s.fails(exitSyntax, "No command specified")
	s.fails(exitFailure, "Could not find a registered machine named 'nope'", "showvminfo", "nope", "--machinereadable")
	s.create()
	s.fails(exitSyntax, "Unknown option: --frobnicate", "modifyvm", "tender-t", "--frobnicate", "on")
	s.fails(exitSyntax, "Missing argument to '--memory'", "modifyvm", "tender-t", "--memory")
	s.fails(exitFailure, "Invalid RAM size", "modifyvm", "tender-t", "--memory", "lots")
	s.fails(exitFailure, "Invalid NIC type 'rtl8139' specified for NIC 1", "modifyvm", "tender-t", "--nictype1", "rtl8139")
	s.fails(exitFailure, "Guest OS type 'Windows11_64' is invalid", "modifyvm", "tender-t", "--ostype", "Windows11_64")
	s.fails(exitSyntax, "Invalid NAT rule", "modifyvm", "tender-t", "--natpf1", "ssh,tcp,2222,22")
	s.fails(exitSyntax, "Unknown option: --machinereadablee", "showvminfo", "tender-t", "--machinereadablee")
	s.fails(exitSyntax, "Invalid parameter 'hibernate'", "controlvm", "tender-t", "hibernate")
	s.fails(exitSyntax, "Unknown subcommand 'ostypes'", "list", "ostypes")
	s.fails(exitFailure, "Could not find file for the medium", "storageattach", "tender-t", "--storagectl", "SATA", "--port", "0", "--device", "0", "--type", "dvddrive", "--medium", "/no/such.iso")
	notISO := filepath.Join(t.TempDir(), "x.iso")
	os.WriteFile(notISO, []byte("hello"), 0o644)
	s.fails(exitFailure, "Could not get the storage format", "storageattach", "tender-t", "--storagectl", "SATA", "--port", "0", "--device", "0", "--type", "dvddrive", "--medium", notISO)
	s.fails(exitFailure, "Shared folder path '/no/such/dir' does not exist on the host", "sharedfolder", "add", "tender-t", "--name", "x", "--hostpath", "/no/such/dir", "--automount")
}

func TestNATRules(t *testing.T) {
	s := newSim(t)
	s.create()
	s.ok("modifyvm", "tender-t", "--natpf1", "ssh,tcp,127.0.0.1,2222,,22", "--natpf1", "docker,tcp,127.0.0.1,2376,,2376")
	s.fails(exitFailure, "A NAT rule of this name already exists", "modifyvm", "tender-t", "--natpf1", "ssh,tcp,127.0.0.1,2223,,22")
	s.fails(exitFailure, "A NAT rule for this host port and this host IP already exists", "modifyvm", "tender-t", "--natpf1", "web,tcp,127.0.0.1,2222,,80")
	s.fails(exitFailure, "A NAT rule of this name does not exist", "modifyvm", "tender-t", "--natpf1", "delete", "web")
	s.ok("modifyvm", "tender-t", "--natpf1", "delete", "ssh", "--natpf1", "ssh,tcp,127.0.0.1,2223,,22")
	info, err := virtualbox.ParseVMInfo(s.ok("showvminfo", "tender-t", "--machinereadable"))
	if err != nil {
		t.Fatal(err)
	}
	want := []virtualbox.Rule{{Name: "docker", Proto: "tcp", HostIP: "127.0.0.1", HostPort: 2376, GuestPort: 2376}, {Name: "ssh", Proto: "tcp", HostIP: "127.0.0.1", HostPort: 2223, GuestPort: 22}}
	if !reflect.DeepEqual(info.Forwarding, want) {
		t.Fatalf("rules = %+v", info.Forwarding)
	}
}

func TestStateRules(t *testing.T) {
	s := newSim(t)
	s.create()
	s.fails(exitFailure, "Machine 'tender-t' is not currently running", "controlvm", "tender-t", "acpipowerbutton")
	s.fails(exitFailure, "not in the saved state", "discardstate", "tender-t")
	s.pretendRunning("running")
	s.fails(exitFailure, "The machine 'tender-t' is already locked for a session (or being unlocked)", "modifyvm", "tender-t", "--memory", "1024")
	s.fails(exitFailure, "already locked for a session", "storagectl", "tender-t", "--name", "IDE", "--add", "ide")
	s.fails(exitFailure, "The machine 'tender-t' is already locked by a session", "startvm", "tender-t", "--type", "headless")
	s.fails(exitFailure, "Cannot unregister the machine 'tender-t' while it is locked", "unregistervm", "tender-t", "--delete")
	info, err := virtualbox.ParseVMInfo(s.ok("showvminfo", "tender-t", "--machinereadable"))
	if err != nil || virtualbox.StateOf(info.VMState) != vm.Running {
		t.Fatalf("showvminfo of a running VM: %+v, %v", info, err)
	}
	s.pretendRunning("saved")
	s.fails(exitFailure, "The machine is not mutable (state is Saved)", "modifyvm", "tender-t", "--natpf1", "ssh,tcp,127.0.0.1,2222,,22")
}

func TestProcessGoneSettlesAsAborted(t *testing.T) {
	s := newSim(t)
	s.create()
	reg, unlock, _ := openRegistry()
	v, _ := reg.find("tender-t", "", 0)
	v.State, v.VMProcess = "running", 1<<22+12345 // no such process
	reg.save()
	unlock()
	info, _ := virtualbox.ParseVMInfo(s.ok("showvminfo", "tender-t", "--machinereadable"))
	if info.VMState != "aborted" {
		t.Fatalf("VMState = %q, want aborted", info.VMState)
	}
}

func TestConvertFromRawNeedsExactlyTheBytes(t *testing.T) {
	s := newSim(t)
	disk := filepath.Join(t.TempDir(), "d.vmdk")
	code, _, errOut := s.run("short", "convertfromraw", "stdin", disk, "1048576", "--format", "VMDK")
	if code != exitFailure || !strings.Contains(errOut, "standard input ended after 5 of 1048576 bytes") {
		t.Fatalf("short stdin: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(disk); !os.IsNotExist(err) {
		t.Fatalf("a failed convertfromraw left %s", disk)
	}
	s.fails(exitFailure, "not a multiple of 512", "convertfromraw", "stdin", disk, "1000", "--format", "VMDK")
	s.fails(exitFailure, "Format 'VDI' is not simulated", "convertfromraw", "stdin", disk, "1048576", "--format", "VDI")
}

func TestUnregisterDeletesDisksNotISO(t *testing.T) {
	s := newSim(t)
	dir, disk, isoPath := s.create()
	s.ok("unregistervm", "tender-t", "--delete")
	for _, gone := range []string{disk, strings.TrimSuffix(disk, ".vmdk") + "-flat.vmdk", filepath.Join(dir, "tender-t")} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s survived unregistervm --delete: %v", gone, err)
		}
	}
	if _, err := os.Stat(isoPath); err != nil {
		t.Errorf("the ISO was deleted: %v", err)
	}
	if got := s.ok("list", "vms"); got != "" {
		t.Errorf("list vms = %q", got)
	}
}

func TestQEMUArgv(t *testing.T) {
	v := &VM{Name: "tender-t", Memory: 1024, CPUs: 2, ACPI: "on", RTCUseUTC: "on",
		Boot:        [4]string{"dvd", "disk", "none", "none"},
		Controllers: []Controller{{Name: "SATA", Bus: "sata", Chip: "IntelAhci", PortCount: 2}},
		Attachments: map[string]Attachment{"SATA-0-0": {"dvddrive", "/c/tender.iso"}, "SATA-1-0": {"hdd", "/m/a,b/disk.vmdk"}},
		Forwarding:  []string{"ssh,tcp,127.0.0.1,2222,,22", "docker,tcp,127.0.0.1,2376,,2376"},
		UART1:       "0x3F8 4", UARTMode1: "file /m/serial.log"}
	v.NIC[0], v.NICType[0] = "nat", "virtio"
	extent := func(p string) string {
		if p == "/m/a,b/disk.vmdk" {
			return "/m/a,b/disk-flat.vmdk"
		}
		return ""
	}
	got, err := qemuArgv(v, "qemu-system-x86_64", "/h/run/u.qmp", "tcg", "/m/s.sav", extent)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"qemu-system-x86_64", "-name", "tender-t", "-machine", "q35", "-nodefaults", "-display", "none",
		"-accel", "tcg,thread=single", "-cpu", "max", "-m", "1024", "-smp", "2", "-rtc", "base=utc",
		"-drive", "if=none,id=sata0,media=cdrom,readonly=on,format=raw,file=/c/tender.iso", "-device", "ide-cd,drive=sata0,bus=ide.0,bootindex=0",
		"-drive", "if=none,id=sata1,format=raw,file=/m/a,,b/disk-flat.vmdk", "-device", "ide-hd,drive=sata1,bus=ide.1,bootindex=1",
		"-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:2376-:2376,hostfwd=tcp:127.0.0.1:2222-:22", "-device", "virtio-net-pci,netdev=net0",
		"-serial", "file:/m/serial.log", "-qmp", "unix:/h/run/u.qmp,server=on,wait=off", "-incoming", "exec:cat '/m/s.sav'"}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("argv\n got %s\nwant %s", g, w)
	}
}

// TestTenderDriverScriptIsAccepted runs tender's own VirtualBox driver
// (init and delete; no boot) against the simulator, so the two grammars
// cannot drift apart.
func TestTenderDriverScriptIsAccepted(t *testing.T) {
	newSim(t)
	bin := vboxManageScript(t)
	dir := t.TempDir()
	shared := t.TempDir()
	s := vm.Spec{Name: "default", Dir: dir, ISO: testfakes.TempISO(t, "tender-v0.1.0"), Disk: filepath.Join(dir, "disk.vmdk"), CPUs: 2, MemoryMiB: 1024,
		SerialLog: filepath.Join(dir, "serial.log"), SSHPort: 40022, DockerPort: 40076,
		Shares: []vm.Share{{HostPath: shared, Tag: "home"}}}
	d := virtualbox.New(runner.Exec{}, bin)
	ctx := context.Background()
	if err := d.Preflight(ctx, s); err != nil {
		t.Fatal(err)
	}
	const size = 4 << 20
	if err := d.CreateDisk(ctx, s, io.MultiReader(strings.NewReader("tender, please format-me"), bytes.NewReader(make([]byte, size-24))), size); err != nil {
		t.Fatal(err)
	}
	if err := d.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	out, err := runner.Exec{}.Run(ctx, bin, "showvminfo", "tender-default", "--machinereadable")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`VMState="poweroff"`, `nictype1="virtio"`, `paravirtprovider="kvm"`, `Forwarding(1)="ssh,tcp,127.0.0.1,40022,,22"`,
		`"SATA-1-0"="` + s.Disk + `"`, `SharedFolderNameMachineMapping1="home"`, `uartmode1="file,` + s.SerialLog + `"`} {
		if !strings.Contains(out, want) {
			t.Errorf("showvminfo lacks %s:\n%s", want, out)
		}
	}
	if st, _ := d.State(ctx, s); st != vm.Stopped {
		t.Errorf("State = %s", st)
	}
	// Create again is a no-op; Stop of a stopped VM is vm.ErrNotRunning.
	if err := d.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(ctx, s, false); err == nil {
		t.Fatal("Stop(false) of a powered-off VM succeeded")
	}
	if err := d.Delete(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Disk); !os.IsNotExist(err) {
		t.Errorf("disk survived Delete: %v", err)
	}
}

// vmValues is showvminfo --machinereadable of tender-t, parsed.
func (s *sim) vmValues() map[string]string {
	s.t.Helper()
	info, err := virtualbox.ParseVMInfo(s.ok("showvminfo", "tender-t", "--machinereadable"))
	if err != nil {
		s.t.Fatal(err)
	}
	return info.Values
}

func wantValues(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("showvminfo %s=%q, want %q", k, got[k], v)
		}
	}
}

// TestNICOptions: modifyvm's NIC options take VirtualBox's words only, and
// what they set is kept between invocations and shown by showvminfo.
func TestNICOptions(t *testing.T) {
	s := newSim(t)
	s.create()
	wantValues(t, s.vmValues(), map[string]string{"nic1": "nat", "natnet1": "nat", "cableconnected1": "on", "nic2": "none"})
	if mac := s.vmValues()["macaddress1"]; len(mac) != 12 || !strings.HasPrefix(mac, "080027") {
		t.Errorf("NIC 1's generated MAC = %q, want 080027 and 6 hex digits", mac)
	}

	s.ok("modifyvm", "tender-t", "--nic2", "intnet", "--intnet2", "tender-lab", "--nictype2", "virtio", "--macaddress2", "525400abcdef", "--cableconnected2", "on")
	wantValues(t, s.vmValues(), map[string]string{"nic2": "intnet", "intnet2": "tender-lab", "macaddress2": "525400ABCDEF",
		"nictype2": "virtio", "cableconnected2": "on", "nic3": "none"})

	// Case does not matter; a new NIC gets a generated MAC and the
	// internal network "intnet" until one is given.
	s.ok("modifyvm", "tender-t", "--nic3", "IntNet", "--nictype3", "VIRTIO", "--cableconnected3", "OFF")
	v := s.vmValues()
	wantValues(t, v, map[string]string{"nic3": "intnet", "intnet3": "intnet", "nictype3": "virtio", "cableconnected3": "off"})
	if !strings.HasPrefix(v["macaddress3"], "080027") {
		t.Errorf("NIC 3's MAC = %q, want a generated one", v["macaddress3"])
	}
	s.ok("modifyvm", "tender-t", "--macaddress3", "auto", "--nic3", "none")
	if v2 := s.vmValues(); v2["nic3"] != "none" || v2["macaddress3"] != "" {
		t.Errorf("NIC 3 off: nic3=%q macaddress3=%q", v2["nic3"], v2["macaddress3"])
	}

	for _, bad := range []struct {
		code int
		want string
		args []string
	}{
		{exitFailure, "Invalid type 'wifi' specfied for NIC 2", []string{"--nic2", "wifi"}},
		{exitFailure, "Invalid NIC type 'rtl8139' specified for NIC 2", []string{"--nictype2", "rtl8139"}},
		{exitFailure, "Invalid MAC address format", []string{"--macaddress2", "52:54:00:ab:cd:ef"}},
		{exitFailure, "Invalid MAC address format", []string{"--macaddress2", "535400abcdef"}}, // multicast
		{exitFailure, "Invalid MAC address format", []string{"--macaddress2", "525400abcde"}},
		{exitFailure, "Invalid MAC address format", []string{"--macaddress2", "525400abcdeg"}},
		{exitSyntax, "Unknown option: maybe", []string{"--cableconnected2", "maybe"}},
		{exitFailure, "Empty or null internal network name is not valid", []string{"--intnet2", "none"}},
		{exitSyntax, "Unknown option: --nic9", []string{"--nic9", "intnet"}},
		{exitSyntax, "Missing argument to '--intnet2'", []string{"--intnet2"}},
		// A failing modifyvm changes nothing, not even its earlier options.
		{exitFailure, "Invalid NIC type 'pcnet' specified for NIC 2", []string{"--intnet2", "tender-other", "--nictype2", "pcnet"}},
	} {
		s.fails(bad.code, bad.want, append([]string{"modifyvm", "tender-t"}, bad.args...)...)
	}
	wantValues(t, s.vmValues(), map[string]string{"nic2": "intnet", "intnet2": "tender-lab", "macaddress2": "525400ABCDEF", "nictype2": "virtio"})

	// A running VM's NICs cannot change.
	s.pretendRunning("running")
	s.fails(exitFailure, "already locked for a session", "modifyvm", "tender-t", "--nic2", "none")
}

// dhcpServers is `list dhcpservers`, parsed by tender's parser.
func (s *sim) dhcpServers() []virtualbox.DHCPServer {
	s.t.Helper()
	servers, err := virtualbox.ParseDHCPServers(s.ok("list", "dhcpservers"))
	if err != nil {
		s.t.Fatal(err)
	}
	return servers
}

// TestDHCPServer: dhcpserver add, modify and remove take VirtualBox's
// grammar, refuse what it refuses with its words and exit codes, and the
// servers and their individual configs persist.
func TestDHCPServer(t *testing.T) {
	s := newSim(t)
	lab := "--network=tender-lab"
	s.ok("dhcpserver", "add", lab, "--server-ip=192.168.127.1", "--netmask=255.255.255.0", "--lower-ip=192.168.127.128", "--upper-ip=192.168.127.254", "--enable")
	s.fails(exitSyntax, "DHCP server already exists", "dhcpserver", "add", "--netname", "tender-lab", "--ip", "192.168.127.1", "--netmask", "255.255.255.0", "--lowerip", "192.168.127.128", "--upperip", "192.168.127.254")
	// --netname is --network; a MAC is written either way.
	s.ok("dhcpserver", "modify", "--netname=tender-lab", "--mac-address=52:54:00:6c:61:01", "--fixed-address=192.168.127.2")
	s.ok("dhcpserver", "modify", lab, "--mac-address", "5254006C6102", "--fixed-address", "192.168.127.3")
	want := []virtualbox.DHCPServer{{NetworkName: "tender-lab", IP: "192.168.127.1", Lower: "192.168.127.128", Upper: "192.168.127.254", NetworkMask: "255.255.255.0", Enabled: true,
		Fixed: map[string]string{"52:54:00:6c:61:01": "192.168.127.2", "52:54:00:6c:61:02": "192.168.127.3"}}}
	if got := s.dhcpServers(); !reflect.DeepEqual(got, want) {
		t.Fatalf("servers = %+v\nwant %+v", got, want)
	}
	if out := s.ok("list", "dhcpservers"); !strings.Contains(out, "Individual Config:    MAC 52:54:00:6c:61:01\n    Fixed Address:    192.168.127.2\n") {
		t.Errorf("list dhcpservers:\n%s", out)
	}

	for _, bad := range []struct {
		code int
		want string
		args []string
	}{
		{exitSyntax, "DHCP server does not exist", []string{"modify", "--network=tender-nope", "--mac-address=52:54:00:6c:61:01", "--fixed-address=192.168.127.2"}},
		{exitSyntax, "--fixed-address can only be applied to a VM NIC or an MAC address", []string{"modify", lab, "--fixed-address=192.168.127.9"}},
		{exitSyntax, "--remove-config cannot be applied to the global config", []string{"modify", lab, "--remove-config"}},
		{exitSyntax, "--remove-config does not apply to the 'add' subcommand", []string{"add", "--network=tender-x", "--mac-address=52:54:00:6c:61:01", "--remove-config"}},
		{exitSyntax, "Invalid argument format: 52:54:00:6c:61", []string{"modify", lab, "--mac-address=52:54:00:6c:61", "--fixed-address=192.168.127.9"}},
		{exitSyntax, "Either --interface or --network, not both", []string{"modify", lab, "--interface=vboxnet0"}},
		{exitSyntax, "You need to specify either --network or --interface", []string{"modify", "--enable"}},
		{exitSyntax, "Missing required option: --upperip", []string{"add", "--network=tender-x", "--server-ip=10.0.0.1", "--netmask=255.0.0.0", "--lower-ip=10.0.0.2"}},
		{exitSyntax, "Unknown option: --mac", []string{"modify", lab, "--mac=52:54:00:6c:61:01"}},
		{exitSyntax, "Option '--vm' is not simulated", []string{"modify", lab, "--vm=tender-t", "--fixed-address=192.168.127.9"}},
		{exitFailure, "Failed to find DHCP server for network 'tender-nope'", []string{"remove", "--network=tender-nope"}},
		{exitSyntax, "Unknown option: --enable", []string{"remove", lab, "--enable"}},
	} {
		s.fails(bad.code, bad.want, append([]string{"dhcpserver"}, bad.args...)...)
	}
	if got := s.dhcpServers(); !reflect.DeepEqual(got, want) {
		t.Fatalf("refused commands changed the servers: %+v", got)
	}

	// As in VirtualBox, a refused fixed address leaves the MAC's config
	// added (dynamic), and an add whose addresses are refused leaves the
	// server created.
	s.fails(exitFailure, "Invalid IPv4 address '192.168.127.300': VERR_INVALID_PARAMETER", "dhcpserver", "modify", lab, "--mac-address=52:54:00:6c:61:03", "--fixed-address=192.168.127.300")
	if got := s.dhcpServers()[0].Fixed["52:54:00:6c:61:03"]; got != "" {
		t.Errorf("the refused MAC's config = %q, want dynamic", got)
	}
	s.fails(exitSyntax, "Invalid server address: 10.0.0.256", "dhcpserver", "add", "--network=tender-half", "--server-ip=10.0.0.256", "--netmask=255.0.0.0", "--lower-ip=10.0.0.2", "--upper-ip=10.0.0.9", "--enable")
	if got := s.dhcpServers(); len(got) != 2 || got[1].NetworkName != "tender-half" || got[1].IP != "" || !got[1].Enabled {
		t.Errorf("after the refused add: %+v", got)
	}

	// --remove-config drops one MAC's config (one that is not there is no
	// error), and remove drops the server with its configs.
	s.ok("dhcpserver", "modify", lab, "--mac-address=52:54:00:6c:61:01", "--remove-config", "--mac-address=52:54:00:6c:61:03", "--remove-config")
	s.ok("dhcpserver", "modify", lab, "--mac-address=52:54:00:6c:61:09", "--remove-config")
	if got := s.dhcpServers()[0].Fixed; !reflect.DeepEqual(got, map[string]string{"52:54:00:6c:61:02": "192.168.127.3"}) {
		t.Errorf("configs after --remove-config: %v", got)
	}
	s.ok("dhcpserver", "remove", lab)
	s.ok("dhcpserver", "remove", "--netname", "tender-half")
	if got := s.ok("list", "dhcpservers"); got != "" {
		t.Errorf("list dhcpservers after remove = %q", got)
	}

	// A host-only interface's server is named after the interface.
	s.ok("hostonlyif", "create")
	s.ok("dhcpserver", "add", "--interface=vboxnet0", "--server-ip=192.168.56.2", "--netmask=255.255.255.0", "--lower-ip=192.168.56.100", "--upper-ip=192.168.56.254", "--enable")
	if got := s.dhcpServers(); len(got) != 1 || got[0].NetworkName != "HostInterfaceNetworking-vboxnet0" {
		t.Errorf("host-only server: %+v", got)
	}
	if ifs, _ := virtualbox.ParseHostOnlyIfs(s.ok("list", "hostonlyifs")); len(ifs) != 1 || !ifs[0].DHCP {
		t.Errorf("list hostonlyifs: %+v", ifs)
	}
	s.fails(exitFailure, "Failed to locate host-only interface 'vboxnet7'", "dhcpserver", "remove", "--interface=vboxnet7")
	s.ok("dhcpserver", "remove", "--ifname", "vboxnet0")
}

// vboxManageScript writes a VBoxManage that runs this test binary as the
// simulator, and returns its path.
func vboxManageScript(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "VBoxManage")
	script := "#!/bin/sh\nVBOXSIM_TEST_AS_VBOXMANAGE=1 exec '" + os.Args[0] + "' \"$@\"\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestTenderDriverNetworks runs tender's VirtualBox driver against the
// simulator for two machines on the tender network "lab": each gets NIC 2
// on the internal network tender-lab with its MAC, the network's DHCP
// server is made once and holds both fixed addresses, deleting one machine
// keeps the server, deleting the last removes it.
func TestTenderDriverNetworks(t *testing.T) {
	newSim(t)
	bin := vboxManageScript(t)
	d := virtualbox.New(runner.Exec{}, bin)
	ctx := context.Background()
	iso := testfakes.TempISO(t, "tender-v0.1.0")
	spec := func(name string, n int) vm.Spec {
		dir := t.TempDir()
		return vm.Spec{Name: name, Dir: dir, ISO: iso, Disk: filepath.Join(dir, "disk.vmdk"), CPUs: 1, MemoryMiB: 512, SerialLog: filepath.Join(dir, "serial.log"),
			Network: &vm.NetworkAttachment{Name: "lab", MAC: fmt.Sprintf("52:54:00:6c:61:%02x", n), Address: fmt.Sprintf("192.168.127.%d", n+1), Subnet: "192.168.127.0/24",
				VMSocket: filepath.Join(dir, "lab.sock"), SwitchSocket: filepath.Join(dir, "lab-switch.sock")}}
	}
	n1, n2 := spec("n1", 1), spec("n2", 2)
	const size = 1 << 20
	for _, s := range []vm.Spec{n1, n2} {
		if err := d.Preflight(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateDisk(ctx, s, bytes.NewReader(make([]byte, size)), size); err != nil {
			t.Fatal(err)
		}
		if err := d.Create(ctx, s); err != nil {
			t.Fatalf("Create %s: %v", s.Name, err)
		}
	}
	show := func(name string) map[string]string {
		out, err := runner.Exec{}.Run(ctx, bin, "showvminfo", name, "--machinereadable")
		if err != nil {
			t.Fatal(err)
		}
		info, err := virtualbox.ParseVMInfo(out)
		if err != nil {
			t.Fatal(err)
		}
		return info.Values
	}
	wantValues(t, show("tender-n1"), map[string]string{"nic1": "nat", "nic2": "intnet", "intnet2": "tender-lab", "macaddress2": "5254006C6101", "nictype2": "virtio", "cableconnected2": "on"})
	wantValues(t, show("tender-n2"), map[string]string{"nic2": "intnet", "intnet2": "tender-lab", "macaddress2": "5254006C6102"})
	servers := func() []virtualbox.DHCPServer {
		out, err := runner.Exec{}.Run(ctx, bin, "list", "dhcpservers")
		if err != nil {
			t.Fatal(err)
		}
		s, err := virtualbox.ParseDHCPServers(out)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	lab := virtualbox.DHCPServer{NetworkName: "tender-lab", IP: "192.168.127.1", Lower: "192.168.127.128", Upper: "192.168.127.254", NetworkMask: "255.255.255.0", Enabled: true,
		Fixed: map[string]string{"52:54:00:6c:61:01": "192.168.127.2", "52:54:00:6c:61:02": "192.168.127.3"}}
	if got := servers(); !reflect.DeepEqual(got, []virtualbox.DHCPServer{lab}) {
		t.Fatalf("after two inits: %+v", got)
	}

	if err := d.Delete(ctx, n1); err != nil {
		t.Fatal(err)
	}
	delete(lab.Fixed, "52:54:00:6c:61:01")
	if got := servers(); !reflect.DeepEqual(got, []virtualbox.DHCPServer{lab}) {
		t.Fatalf("after deleting n1: %+v", got)
	}
	if err := d.Delete(ctx, n2); err != nil {
		t.Fatal(err)
	}
	if got := servers(); len(got) != 0 {
		t.Fatalf("after deleting the last machine on the network: %+v", got)
	}
	if err := d.Delete(ctx, n2); err != nil {
		t.Fatalf("Delete again: %v", err)
	}
}
