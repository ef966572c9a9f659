package virtualbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/runner"
	"github.com/tenderdev/tender/vm"
)

const vbmPath = "/opt/VirtualBox/VBoxManage"

// step is one expected VBoxManage call and what it answers.
type step struct {
	args   []string
	stdout string
	stderr string
	fail   bool  // exit status 1
	stdin  int64 // bytes expected on stdin; 0 means no stdin
}

// script is a recording runner: it checks each call against the next step,
// argv slice by argv slice, and fails the test on any unexpected call; done
// fails it on any step left uncalled.
type script struct {
	t     *testing.T
	steps []step
	next  int
}

func (s *script) Run(ctx context.Context, name string, args ...string) (string, error) {
	s.t.Fatalf("VBoxManage run without RunCall: %q", args)
	return "", nil
}

func (s *script) RunCall(ctx context.Context, c runner.Call, name string, args ...string) (string, string, error) {
	s.t.Helper()
	if name != vbmPath {
		s.t.Errorf("ran %q, want %q", name, vbmPath)
	}
	if s.next >= len(s.steps) {
		s.t.Errorf("unexpected call: VBoxManage %q", args)
		return "", "", errors.New("unexpected call")
	}
	want := s.steps[s.next]
	s.next++
	if !reflect.DeepEqual(args, want.args) {
		s.t.Errorf("call %d:\n got VBoxManage %q\nwant VBoxManage %q", s.next, args, want.args)
	}
	var fed int64
	if c.Stdin != nil {
		n, err := io.Copy(io.Discard, c.Stdin)
		if err != nil {
			s.t.Errorf("call %d: reading stdin: %v", s.next, err)
		}
		fed = n
	}
	if fed != want.stdin {
		s.t.Errorf("call %d: %d bytes on stdin, want %d", s.next, fed, want.stdin)
	}
	if want.fail {
		// What runner.Exec returns: the *exec.ExitError, wrapped.
		exit := exec.Command("sh", "-c", "exit 1").Run()
		return want.stdout, want.stderr, fmt.Errorf("running VBoxManage %s: %w: %s", args[0], exit, want.stderr)
	}
	return want.stdout, want.stderr, nil
}

// expect replaces the script and checks, when the test step ends, that
// every call was made.
func (s *script) expect(steps ...step) {
	s.t.Helper()
	s.done()
	s.steps, s.next = steps, 0
}

func (s *script) done() {
	s.t.Helper()
	for _, st := range s.steps[s.next:] {
		s.t.Errorf("missing call: VBoxManage %q", st.args)
	}
	s.steps, s.next = nil, 0
}

func call(args ...string) step { return step{args: args} }

func answer(stdout string, args ...string) step { return step{args: args, stdout: stdout} }

// vmInfo is showvminfo --machinereadable for a state and rules.
func vmInfo(state string, rules ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name=\"tender-default\"\nUUID=\"6f1c2b0e-3a6d-4a4e-9a57-0c8b3f0d2e11\"\nmemory=2048\ncpus=2\nVMState=\"%s\"\n", state)
	for i, r := range rules {
		fmt.Fprintf(&b, "Forwarding(%d)=\"%s\"\n", i, r)
	}
	return b.String()
}

const notRegisteredErr = `VBoxManage: error: Could not find a registered machine named 'tender-default'
VBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap, interface IVirtualBox, callee nsISupports
VBoxManage: error: Context: "FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())" at line 2883 of file VBoxManageInfo.cpp
`

// newTestDriver returns a driver on a script, with VBoxManage at vbmPath,
// and a spec in a temporary machine directory holding a real-looking ISO.
func newTestDriver(t *testing.T) (*Driver, *script, vm.Spec, *bool) {
	t.Helper()
	sc := &script{t: t}
	t.Cleanup(sc.done)
	open := new(bool)
	d := &Driver{
		Runner:   sc,
		Lookup:   fakeLookup("linux", vbmPath, nil),
		Sleep:    func(time.Duration) {},
		PortOpen: func(int) bool { return *open },
	}
	dir := t.TempDir()
	iso := testfakes.WriteISO(t, filepath.Join(dir, "tender.iso"), "tender-v0.1.0")
	s := vm.Spec{
		Name: "default", Dir: dir, ISO: iso, Disk: filepath.Join(dir, "disk.vmdk"),
		CPUs: 2, MemoryMiB: 2048, SerialLog: filepath.Join(dir, "serial.log"),
		Shares: []vm.Share{{HostPath: "/home", Tag: "home"}},
	}
	return d, sc, s, open
}

func wantState(t *testing.T, d *Driver, s vm.Spec, want vm.State) {
	t.Helper()
	got, err := d.State(context.Background(), s)
	if err != nil || got != want {
		t.Fatalf("State = %s, %v; want %s", got, err, want)
	}
}

// TestScript pins the exact VBoxManage calls of init, up, down, up again,
// save, resume and delete, in order.
func TestScript(t *testing.T) {
	ctx := context.Background()
	d, sc, s, open := newTestDriver(t)
	const size = 4 << 20
	ssh := "ssh,tcp,127.0.0.1,41233,,22"
	docker := "docker,tcp,127.0.0.1,41234,,2376"

	// init: Preflight, CreateDisk, Create, in machine.Init's order. The
	// ports are not chosen yet, so no NAT rule.
	sc.expect(
		answer("7.0.20r163906\n", "--version"),
		answer(`"Windows 11" {0d9b8f6e-2b7a-4c1d-9e3f-5a6b7c8d9e0f}`+"\n", "list", "vms"),
		step{args: []string{"convertfromraw", "stdin", s.Disk, "4194304", "--format", "VMDK"}, stdin: size},
		step{args: []string{"showvminfo", "tender-default", "--machinereadable"}, stderr: notRegisteredErr, fail: true},
		answer("Virtual machine 'tender-default' is created and registered.\nUUID: 6f1c2b0e-3a6d-4a4e-9a57-0c8b3f0d2e11\nSettings file: '"+s.Dir+"/tender-default/tender-default.vbox'\n",
			"createvm", "--basefolder", s.Dir, "--name", "tender-default", "--register"),
		call("modifyvm", "tender-default", "--ostype", "Linux26_64", "--memory", "2048", "--cpus", "2",
			"--acpi", "on", "--ioapic", "on", "--rtcuseutc", "on", "--paravirtprovider", "kvm",
			"--boot1", "dvd", "--boot2", "disk", "--boot3", "none", "--boot4", "none",
			"--nic1", "nat", "--nictype1", "virtio",
			"--uart1", "0x3F8", "4", "--uartmode1", "file", s.SerialLog),
		call("storagectl", "tender-default", "--name", "SATA", "--add", "sata", "--controller", "IntelAhci", "--portcount", "2", "--bootable", "on"),
		call("storageattach", "tender-default", "--storagectl", "SATA", "--port", "0", "--device", "0", "--type", "dvddrive", "--medium", s.ISO),
		call("storageattach", "tender-default", "--storagectl", "SATA", "--port", "1", "--device", "0", "--type", "hdd", "--medium", s.Disk),
		call("sharedfolder", "add", "tender-default", "--name", "home", "--hostpath", "/home", "--automount"),
		call("setextradata", "tender-default", "VBoxInternal2/SharedFoldersEnableSymlinksCreate/home", "1"),
	)
	if err := d.Preflight(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateDisk(ctx, s, io.MultiReader(strings.NewReader("tar"), bytes.NewReader(make([]byte, size))), size); err != nil {
		t.Fatal(err)
	}
	if err := d.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, s, vm.Stopped)

	// up: the ports are chosen; the rules are added while powered off.
	s.SSHPort, s.DockerPort = 41233, 41234
	sc.expect(
		answer(vmInfo("poweroff"), "showvminfo", "tender-default", "--machinereadable"),
		call("modifyvm", "tender-default", "--natpf1", ssh, "--natpf1", docker),
		answer("Waiting for VM \"tender-default\" to power on...\nVM \"tender-default\" has been successfully started.\n", "startvm", "tender-default", "--type", "headless"),
	)
	if err := d.Start(ctx, s); err != nil {
		t.Fatal(err)
	}
	*open = true
	wantState(t, d, s, vm.Running)

	// down: the power button; stopped once the NAT port closes.
	sc.expect(call("controlvm", "tender-default", "acpipowerbutton"))
	if err := d.Stop(ctx, s, false); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, s, vm.Running)
	*open = false
	wantState(t, d, s, vm.Stopped)

	// up again with the same ports: no modifyvm.
	sc.expect(
		answer(vmInfo("poweroff", docker, ssh), "showvminfo", "tender-default", "--machinereadable"),
		call("startvm", "tender-default", "--type", "headless"),
	)
	if err := d.Start(ctx, s); err != nil {
		t.Fatal(err)
	}
	*open = true
	wantState(t, d, s, vm.Running)

	// save, then up resumes; a changed SSH port is fixed once it runs.
	sc.expect(call("controlvm", "tender-default", "savestate"))
	if err := d.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	*open = false
	wantState(t, d, s, vm.Saved)
	s.SSHPort = 41235
	sc.expect(
		answer(vmInfo("saved", docker, ssh), "showvminfo", "tender-default", "--machinereadable"),
		call("startvm", "tender-default", "--type", "headless"),
		call("controlvm", "tender-default", "natpf1", "delete", "ssh"),
		call("controlvm", "tender-default", "natpf1", "ssh,tcp,127.0.0.1,41235,,22"),
	)
	if err := d.Start(ctx, s); err != nil {
		t.Fatal(err)
	}
	*open = true
	wantState(t, d, s, vm.Running)

	// delete: power off the running VM, then unregister with its files.
	sc.expect(
		answer(vmInfo("running", docker, ssh), "showvminfo", "tender-default", "--machinereadable"),
		call("controlvm", "tender-default", "poweroff"),
		call("unregistervm", "tender-default", "--delete"),
	)
	if err := d.Delete(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, StateFile)); !os.IsNotExist(err) {
		t.Errorf("%s still there after Delete: %v", StateFile, err)
	}
}

func TestStartFromPausedResumes(t *testing.T) {
	d, sc, s, _ := newTestDriver(t)
	sc.expect(
		answer(vmInfo("paused"), "showvminfo", "tender-default", "--machinereadable"),
		call("controlvm", "tender-default", "resume"),
	)
	if err := d.Start(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func TestPoweroffOfSavedDiscardsState(t *testing.T) {
	d, sc, s, _ := newTestDriver(t)
	sc.expect(
		answer(vmInfo("saved"), "showvminfo", "tender-default", "--machinereadable"),
		call("discardstate", "tender-default"),
	)
	if err := d.Stop(context.Background(), s, true); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, s, vm.Stopped)
}

func TestMissingVMSaysDeleteOrInit(t *testing.T) {
	d, sc, s, _ := newTestDriver(t)
	s.Name = "dev"
	stderr := strings.ReplaceAll(notRegisteredErr, "tender-default", "tender-dev")
	sc.expect(step{args: []string{"showvminfo", "tender-dev", "--machinereadable"}, stderr: stderr, fail: true})
	err := d.Start(context.Background(), s)
	if !errors.Is(err, vm.ErrNotFound) {
		t.Fatalf("err = %v, want vm.ErrNotFound", err)
	}
	want := "VirtualBox has no VM \"tender-dev\" for machine \"dev\" (was it deleted in VirtualBox?): run `tender delete dev` to clean up, then `tender init dev`: running VBoxManage showvminfo: exit status 1: Could not find a registered machine named 'tender-dev'"
	if err.Error() != want {
		t.Fatalf("err =\n%s\nwant\n%s", err, want)
	}

	// Delete of a VM VirtualBox does not know is done.
	sc.expect(step{args: []string{"showvminfo", "tender-dev", "--machinereadable"}, stderr: stderr, fail: true})
	if err := d.Delete(context.Background(), s); err != nil {
		t.Fatalf("Delete = %v", err)
	}
}

func TestErrorOnStderrWithExitZeroFails(t *testing.T) {
	d, sc, s, _ := newTestDriver(t)
	sc.expect(
		answer(vmInfo("poweroff"), "showvminfo", "tender-default", "--machinereadable"),
		step{args: []string{"startvm", "tender-default", "--type", "headless"}, stderr: "VBoxManage.exe: error: VT-x is not available (VERR_VMX_NO_VMX)\n"},
	)
	logs := filepath.Join(s.Dir, "tender-default", "Logs")
	os.MkdirAll(logs, 0o755)
	os.WriteFile(filepath.Join(logs, "VBox.log"), []byte(readTestdata(t, "VBox-novtx.log")), 0o644)
	err := d.Start(context.Background(), s)
	want := `VirtualBox could not start "tender-default": this CPU (or the VM tender runs in) offers no VT-x: enable nested virtualization, or use --driver qemu (running VBoxManage startvm: VT-x is not available (VERR_VMX_NO_VMX))`
	if err == nil || err.Error() != want {
		t.Fatalf("err =\n%v\nwant\n%s", err, want)
	}
	wantState(t, d, s, vm.Stopped)
}

func TestObjectNotReadyIsRetried(t *testing.T) {
	d, sc, s, _ := newTestDriver(t)
	notReady := step{args: []string{"controlvm", "tender-default", "reset"}, fail: true,
		stderr: "VBoxManage: error: The object is not ready\nVBoxManage: error: Details: code E_ACCESSDENIED (0x80070005)\n"}
	sc.expect(notReady, notReady, call("controlvm", "tender-default", "reset"))
	if err := d.Reset(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func TestLockedModifyvmFailsWithoutRetryWhileRunning(t *testing.T) {
	d, sc, s, _ := newTestDriver(t)
	sc.expect(step{args: []string{"controlvm", "tender-default", "acpipowerbutton"}, fail: true,
		stderr: "VBoxManage: error: Machine 'tender-default' is not currently running\n"})
	if err := d.Stop(context.Background(), s, false); !errors.Is(err, vm.ErrNotRunning) {
		t.Fatalf("Stop of a stopped VM = %v, want vm.ErrNotRunning", err)
	}
}

func TestForwardAndUnforward(t *testing.T) {
	d, sc, s, _ := newTestDriver(t)
	sc.expect(
		call("controlvm", "tender-default", "natpf1", "tcp-8080,tcp,127.0.0.1,8080,,80"),
		step{args: []string{"controlvm", "tender-default", "natpf1", "delete", "tcp-8080"}, fail: true,
			stderr: "VBoxManage: error: A NAT rule of this name does not exist\n"},
	)
	if err := d.Forward(context.Background(), s, "tcp", 8080, 80); err != nil {
		t.Fatal(err)
	}
	if err := d.Unforward(context.Background(), s, "tcp", 8080); err != nil {
		t.Fatal(err)
	}
	if err := d.Forward(context.Background(), s, "sctp", 1, 1); err == nil {
		t.Fatal("no error for sctp")
	}
}

func TestPreflight(t *testing.T) {
	d, sc, s, _ := newTestDriver(t)
	sc.expect(answer("6.0.24r139119\n", "--version"))
	if err := d.Preflight(context.Background(), s); err == nil || !strings.Contains(err.Error(), "too old") {
		t.Fatalf("old VirtualBox: %v", err)
	}
	sc.expect(
		answer("7.1.4r165100\n", "--version"),
		answer(readTestdata(t, "list-vms.txt"), "list", "vms"),
	)
	err := d.Preflight(context.Background(), s)
	if err == nil || !strings.HasPrefix(err.Error(), `VirtualBox already has a VM named "tender-default" {6f1c2b0e-3a6d-4a4e-9a57-0c8b3f0d2e11}`) {
		t.Fatalf("name taken: %v", err)
	}
	d.Lookup = fakeLookup("linux", "", nil)
	if err := d.Preflight(context.Background(), s); err == nil || !strings.Contains(err.Error(), "or use --driver qemu") {
		t.Fatalf("missing VBoxManage: %v", err)
	}
}

func TestExactlyFeedsSizeBytes(t *testing.T) {
	n, err := io.Copy(io.Discard, &exactly{r: strings.NewReader("only ten b"), left: 100})
	if err == nil || err.Error() != "the disk stream ended 90 bytes short" || n != 10 {
		t.Fatalf("short stream: %d bytes, %v", n, err)
	}
	n, err = io.Copy(io.Discard, &exactly{r: strings.NewReader("fourteen bytes"), left: 8})
	if err != nil || n != 8 {
		t.Fatalf("long stream: %d bytes, %v", n, err)
	}
}

func TestCreateWithHostOnly(t *testing.T) {
	d, sc, s, _ := newTestDriver(t)
	d.HostOnly = "192.168.60.1/24"
	s.Shares = nil
	sc.expect(
		step{args: []string{"showvminfo", "tender-default", "--machinereadable"}, stderr: notRegisteredErr, fail: true},
		answer("UUID: 6f1c2b0e-3a6d-4a4e-9a57-0c8b3f0d2e11\n", "createvm", "--basefolder", s.Dir, "--name", "tender-default", "--register"),
		answer(readTestdata(t, "list-hostonlyifs.txt"), "list", "hostonlyifs"),
		answer(readTestdata(t, "list-dhcpservers.txt"), "list", "dhcpservers"),
		answer("0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\nInterface 'vboxnet2' was successfully created\n", "hostonlyif", "create"),
		step{args: []string{"hostonlyif", "ipconfig", "vboxnet2", "--ip", "192.168.60.1", "--netmask", "255.255.255.0"}, fail: true,
			stderr: "VBoxManage: error: Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)\n"},
	)
	d.Lookup.GOOS = "windows" // so 192.168.60.0/24 passes the range check and reaches VirtualBox
	err := d.Create(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "VirtualBox refused the host-only address 192.168.60.1 (E_ACCESSDENIED)") ||
		!strings.Contains(err.Error(), "/etc/vbox/networks.conf") {
		t.Fatalf("err = %v", err)
	}
}

// labNIC is machine n's NIC on the tender network "lab".
func labNIC(n int) *vm.NetworkAttachment {
	return &vm.NetworkAttachment{Name: "lab", MAC: fmt.Sprintf("52:54:00:6c:61:%02x", n), Address: fmt.Sprintf("192.168.127.%d", n+1),
		Subnet: "192.168.127.0/24", VMSocket: "/unused/by/virtualbox.sock", SwitchSocket: "/unused/by/virtualbox-switch.sock"}
}

// onLab is showvminfo of a VM whose NIC 2 is on tender-lab with MAC
// 52:54:00:6c:61:0N, in VirtualBox's order.
func onLab(name string, n int) string {
	return fmt.Sprintf("name=%q\nVMState=\"poweroff\"\nnatnet1=\"nat\"\nmacaddress1=\"080027A1B2C3\"\ncableconnected1=\"on\"\nnic1=\"nat\"\nnictype1=\"virtio\"\n"+
		"intnet2=\"tender-lab\"\nmacaddress2=\"5254006C61%02X\"\ncableconnected2=\"on\"\nnic2=\"intnet\"\nnictype2=\"virtio\"\nnicspeed2=\"0\"\nnic3=\"none\"\n", name, n)
}

// labServer is `list dhcpservers` with tender-lab's server as Create makes
// it, holding fixed addresses for machines ns.
func labServer(ns ...int) string {
	out := "NetworkName:    tender-lab\nDhcpd IP:       192.168.127.1\nLowerIPAddress: 192.168.127.128\nUpperIPAddress: 192.168.127.254\nNetworkMask:    255.255.255.0\nEnabled:        Yes\n" +
		"Global Configuration:\n    minLeaseTime:     default\nGroups:               None\n"
	if len(ns) == 0 {
		out += "Individual Configs:   None\n"
	}
	for _, n := range ns {
		out += fmt.Sprintf("Individual Config:    MAC 52:54:00:6c:61:%02x\n    Fixed Address:    192.168.127.%d\n    minLeaseTime:     default\n", n, n+1)
	}
	return out
}

var (
	labAdd   = []string{"dhcpserver", "add", "--network=tender-lab", "--server-ip=192.168.127.1", "--netmask=255.255.255.0", "--lower-ip=192.168.127.128", "--upper-ip=192.168.127.254", "--enable"}
	labFix   = []string{"dhcpserver", "modify", "--network=tender-lab", "--server-ip=192.168.127.1", "--netmask=255.255.255.0", "--lower-ip=192.168.127.128", "--upper-ip=192.168.127.254", "--enable"}
	labFixed = func(n int) []string {
		return []string{"dhcpserver", "modify", "--network=tender-lab", fmt.Sprintf("--mac-address=52:54:00:6c:61:%02x", n), fmt.Sprintf("--fixed-address=192.168.127.%d", n+1)}
	}
)

// createOnLab is Create's script up to the DHCP server, for machine n.
func createOnLab(s vm.Spec, n int) []step {
	name := vm.Name(s.Name)
	return []step{
		{args: []string{"showvminfo", name, "--machinereadable"}, stderr: strings.ReplaceAll(notRegisteredErr, "tender-default", name), fail: true},
		answer("UUID: 6f1c2b0e-3a6d-4a4e-9a57-0c8b3f0d2e11\n", "createvm", "--basefolder", s.Dir, "--name", name, "--register"),
		call("modifyvm", name, "--ostype", "Linux26_64", "--memory", "2048", "--cpus", "2",
			"--acpi", "on", "--ioapic", "on", "--rtcuseutc", "on", "--paravirtprovider", "kvm",
			"--boot1", "dvd", "--boot2", "disk", "--boot3", "none", "--boot4", "none",
			"--nic1", "nat", "--nictype1", "virtio",
			"--uart1", "0x3F8", "4", "--uartmode1", "file", s.SerialLog),
		call("modifyvm", name, "--nic2", "intnet", "--intnet2", "tender-lab", "--nictype2", "virtio",
			"--macaddress2", fmt.Sprintf("5254006C61%02X", n), "--cableconnected2", "on"),
		call("storagectl", name, "--name", "SATA", "--add", "sata", "--controller", "IntelAhci", "--portcount", "2", "--bootable", "on"),
		call("storageattach", name, "--storagectl", "SATA", "--port", "0", "--device", "0", "--type", "dvddrive", "--medium", s.ISO),
		call("storageattach", name, "--storagectl", "SATA", "--port", "1", "--device", "0", "--type", "hdd", "--medium", s.Disk),
	}
}

// TestCreateOnNetwork pins Create's calls for a machine on a tender
// network: NIC 2 on the internal network tender-lab with the machine's
// MAC, the network's DHCP server added when it is missing, reused when it
// is there, corrected when its addresses are stale, and the machine's fixed
// address.
func TestCreateOnNetwork(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		servers string // list dhcpservers
		dhcp    []step
	}{
		{"first machine: the server is added", readTestdata(t, "list-dhcpservers.txt"),
			[]step{call(labAdd...), call(labFixed(1)...)}},
		{"second machine: the server is reused", labServer(2),
			[]step{call(labFixed(1)...)}},
		{"a stale server of the name: corrected", strings.ReplaceAll(labServer(), "192.168.127.1\n", "10.9.8.1\n"),
			[]step{call(labFix...), call(labFixed(1)...)}},
		{"added by another init since the list: reused", "",
			[]step{{args: labAdd, fail: true, stderr: "VBoxManage: error: DHCP server already exists\n"}, call(labFix...), call(labFixed(1)...)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, sc, s, _ := newTestDriver(t)
			s.Name, s.Shares, s.Network = "n1", nil, labNIC(1)
			steps := append(createOnLab(s, 1), answer(tc.servers, "list", "dhcpservers"))
			sc.expect(append(steps, tc.dhcp...)...)
			if err := d.Create(ctx, s); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDeleteOnNetwork pins Delete's calls for a VM on a tender network: its
// fixed address goes, and the network's DHCP server only with the last
// registered VM on it (a VM whose settings cannot be read counts as on it).
func TestDeleteOnNetwork(t *testing.T) {
	ctx := context.Background()
	const otherUUID = "0d9b8f6e-2b7a-4c1d-9e3f-5a6b7c8d9e0f"
	deleteN1 := []step{
		answer(onLab("tender-n1", 1), "showvminfo", "tender-n1", "--machinereadable"),
		call("unregistervm", "tender-n1", "--delete"),
		answer(labServer(1, 2), "list", "dhcpservers"),
		call("dhcpserver", "modify", "--network=tender-lab", "--mac-address=52:54:00:6c:61:01", "--remove-config"),
	}
	for _, tc := range []struct {
		name string
		rest []step
	}{
		{"another VM is on the network: the server stays", []step{
			answer(`"tender-n2" {`+otherUUID+"}\n", "list", "vms"),
			answer(onLab("tender-n2", 2), "showvminfo", otherUUID, "--machinereadable"),
		}},
		{"the last VM on it: the server goes", []step{
			answer(`"tender-n2" {`+otherUUID+"}\n", "list", "vms"),
			answer(vmInfo("poweroff"), "showvminfo", otherUUID, "--machinereadable"),
			call("dhcpserver", "remove", "--network=tender-lab"),
		}},
		{"a VM that cannot be read: the server stays", []step{
			answer(`"<inaccessible>" {`+otherUUID+"}\n", "list", "vms"),
			{args: []string{"showvminfo", otherUUID, "--machinereadable"}, fail: true, stderr: "VBoxManage: error: The machine is inaccessible\n"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, sc, s, _ := newTestDriver(t)
			s.Name, s.Network = "n1", labNIC(1)
			sc.expect(append(append([]step{}, deleteN1...), tc.rest...)...)
			if err := d.Delete(ctx, s); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("the VM is gone already (a Delete run again): the leftovers go by the spec", func(t *testing.T) {
		d, sc, s, _ := newTestDriver(t)
		s.Name, s.Network = "n1", labNIC(1)
		sc.expect(
			step{args: []string{"showvminfo", "tender-n1", "--machinereadable"}, stderr: strings.ReplaceAll(notRegisteredErr, "tender-default", "tender-n1"), fail: true},
			answer(labServer(1), "list", "dhcpservers"),
			call("dhcpserver", "modify", "--network=tender-lab", "--mac-address=52:54:00:6c:61:01", "--remove-config"),
			answer("", "list", "vms"),
			call("dhcpserver", "remove", "--network=tender-lab"),
		)
		if err := d.Delete(ctx, s); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no server left: nothing more to ask", func(t *testing.T) {
		d, sc, s, _ := newTestDriver(t)
		s.Name = "n1"
		sc.expect(
			answer(onLab("tender-n1", 1), "showvminfo", "tender-n1", "--machinereadable"),
			call("unregistervm", "tender-n1", "--delete"),
			answer(readTestdata(t, "list-dhcpservers.txt"), "list", "dhcpservers"),
		)
		if err := d.Delete(ctx, s); err != nil {
			t.Fatal(err)
		}
	})
}

// TestNetworkRefusedBeforeAnythingIsMade: a bad attachment, or a tender
// network with the host-only network (both NIC 2), fails Preflight and
// Create before any VBoxManage call that makes something.
func TestNetworkRefusedBeforeAnythingIsMade(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		hostOnly string
		mod      func(n *vm.NetworkAttachment)
		want     []string
	}{
		{"bad values", "", func(n *vm.NetworkAttachment) { n.MAC, n.Address = "53:54:00:6c:61:01", "192.168.128.2" }, []string{
			`network "lab": MAC address "53:54:00:6c:61:01" must be a unicast address like "52:54:00:12:34:56"`,
			`network "lab": address 192.168.128.2 is outside the subnet 192.168.127.0/24`,
		}},
		{"the DHCP server's address", "", func(n *vm.NetworkAttachment) { n.Address = "192.168.127.1" }, []string{
			`network "lab": address 192.168.127.1 is the subnet's network, broadcast or DHCP server (192.168.127.1) address`,
		}},
		{"not a subnet", "", func(n *vm.NetworkAttachment) { n.Subnet = "192.168.127.0" }, []string{
			`network "lab": subnet "192.168.127.0" must be an IPv4 network like "192.168.127.0/24", /8 to /30`,
		}},
		{"with the host-only network", DefaultHostOnly, func(*vm.NetworkAttachment) {}, []string{
			`machine "n1" cannot be on network "lab" and have a host-only network: both are NIC 2 under VirtualBox`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, sc, s, _ := newTestDriver(t)
			d.HostOnly = tc.hostOnly
			s.Name, s.Network = "n1", labNIC(1)
			tc.mod(s.Network)
			// Create: only the look for an existing VM.
			sc.expect(step{args: []string{"showvminfo", "tender-n1", "--machinereadable"}, stderr: strings.ReplaceAll(notRegisteredErr, "tender-default", "tender-n1"), fail: true})
			err := d.Create(ctx, s)
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Create = %v; want %s", err, w)
				}
			}
			sc.expect(answer("7.0.20r163906\n", "--version"))
			err = d.Preflight(ctx, s)
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Preflight = %v; want %s", err, w)
				}
			}
		})
	}
}
