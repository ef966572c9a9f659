//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	s.fails(exitSyntax, "Invalid nictype1 argument 'rtl8139'", "modifyvm", "tender-t", "--nictype1", "rtl8139")
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
	bin := filepath.Join(t.TempDir(), "VBoxManage")
	script := "#!/bin/sh\nVBOXSIM_TEST_AS_VBOXMANAGE=1 exec '" + os.Args[0] + "' \"$@\"\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
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
