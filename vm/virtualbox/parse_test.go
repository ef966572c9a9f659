package virtualbox

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tenderdev/tender/vm"
)

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseVMInfo(t *testing.T) {
	info, err := ParseVMInfo(readTestdata(t, "showvminfo-poweroff.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "tender-default" || info.UUID != "6f1c2b0e-3a6d-4a4e-9a57-0c8b3f0d2e11" || info.VMState != "poweroff" ||
		info.MemoryMiB != 2048 || info.CPUs != 2 ||
		info.CfgFile != "/home/ann/.tender/machines/default/tender-default/tender-default.vbox" {
		t.Errorf("info = %+v", info)
	}
	wantRules := []Rule{
		{"docker", "tcp", "127.0.0.1", 41234, "", 2376},
		{"ssh", "tcp", "127.0.0.1", 41233, "", 22},
	}
	if !reflect.DeepEqual(info.Forwarding, wantRules) {
		t.Errorf("Forwarding = %+v", info.Forwarding)
	}
	wantMedia := map[string]string{
		"SATA-0-0": "/home/ann/.tender/cache/tender-v0.1.0.iso",
		"SATA-1-0": "/home/ann/.tender/machines/default/disk.vmdk",
	}
	if !reflect.DeepEqual(info.Media, wantMedia) {
		t.Errorf("Media = %v", info.Media)
	}
	if got := info.Values["uartmode1"]; got != "file,/home/ann/.tender/machines/default/serial.log" {
		t.Errorf("uartmode1 = %q", got)
	}
}

func TestParseVMInfoEscapedWindowsPaths(t *testing.T) {
	info, err := ParseVMInfo(readTestdata(t, "showvminfo-windows7.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if info.CfgFile != `C:\Users\Ann Lee\.tender\machines\dev\tender-dev\tender-dev.vbox` {
		t.Errorf("CfgFile = %q", info.CfgFile)
	}
	if info.Media["SATA-1-0"] != `C:\Users\Ann Lee\.tender\machines\dev\disk.vmdk` {
		t.Errorf("Media = %v", info.Media)
	}
	if StateOf(info.VMState) != vm.Aborted {
		t.Errorf("state %q maps to %s", info.VMState, StateOf(info.VMState))
	}
}

func TestParseVMInfoRejectsNoState(t *testing.T) {
	if _, err := ParseVMInfo("Oracle VM VirtualBox Command Line Management Interface\n"); err == nil {
		t.Fatal("no error for output without VMState")
	}
	if _, err := ParseVMInfo(`VMState="running"` + "\n" + `Forwarding(0)="ssh,tcp,127.0.0.1,x,,22"` + "\n"); err == nil {
		t.Fatal("no error for a malformed rule")
	}
}

func TestStateOf(t *testing.T) {
	for in, want := range map[string]vm.State{
		"poweroff": vm.Stopped, "running": vm.Running, "paused": vm.Paused, "saved": vm.Saved,
		"aborted": vm.Aborted, "starting": vm.Starting, "restoring": vm.Starting, "stopping": vm.Running,
		"saving": vm.Running, "gurumeditation": vm.Aborted, "aborted-saved": vm.Saved,
	} {
		if got := StateOf(in); got != want {
			t.Errorf("StateOf(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestParseVMList(t *testing.T) {
	vms, err := ParseVMList(readTestdata(t, "list-vms.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []VMEntry{
		{"tender-default", "6f1c2b0e-3a6d-4a4e-9a57-0c8b3f0d2e11"},
		{"Windows 11 (work)", "0d9b8f6e-2b7a-4c1d-9e3f-5a6b7c8d9e0f"},
		{"<inaccessible>", "11111111-2222-4333-8444-555555555555"},
	}
	if !reflect.DeepEqual(vms, want) {
		t.Errorf("vms = %+v", vms)
	}
	if _, err := ParseVMList("tender-default\n"); err == nil {
		t.Error("no error for a malformed line")
	}
	if vms, err := ParseVMList(""); err != nil || vms != nil {
		t.Errorf("empty list = %v, %v", vms, err)
	}
}

func TestParseHostOnlyIfs(t *testing.T) {
	ifs, err := ParseHostOnlyIfs(readTestdata(t, "list-hostonlyifs.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []HostOnlyIf{
		{Name: "vboxnet0", GUID: "786f6276-656e-4074-8000-0a0027000000", DHCP: true, IPAddress: "192.168.56.1", NetworkMask: "255.255.255.0", Status: "Up", NetworkName: "HostInterfaceNetworking-vboxnet0"},
		{Name: "vboxnet1", GUID: "786f6276-656e-4174-8000-0a0027000001", DHCP: false, IPAddress: "192.168.59.1", NetworkMask: "255.255.255.0", Status: "Up", NetworkName: "HostInterfaceNetworking-vboxnet1"},
	}
	if !reflect.DeepEqual(ifs, want) {
		t.Errorf("ifs = %+v", ifs)
	}
}

func TestParseDHCPServers(t *testing.T) {
	servers, err := ParseDHCPServers(readTestdata(t, "list-dhcpservers.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []DHCPServer{
		{NetworkName: "HostInterfaceNetworking-vboxnet0", IP: "192.168.56.100", Lower: "192.168.56.101", Upper: "192.168.56.254", NetworkMask: "255.255.255.0", Enabled: true},
		{NetworkName: "HostInterfaceNetworking-vboxnet1", IP: "192.168.59.2", Lower: "192.168.59.128", Upper: "192.168.59.254", NetworkMask: "255.255.255.0", Enabled: true},
	}
	if !reflect.DeepEqual(servers, want) {
		t.Errorf("servers = %+v", servers)
	}
}

// An internal network's server with individual configs, by MAC and by VM
// NIC (VirtualBox 6.1+).
func TestParseDHCPServersIndividualConfigs(t *testing.T) {
	servers, err := ParseDHCPServers(readTestdata(t, "list-dhcpservers-intnet.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []DHCPServer{
		{NetworkName: "HostInterfaceNetworking-vboxnet0", IP: "192.168.56.100", Lower: "192.168.56.101", Upper: "192.168.56.254", NetworkMask: "255.255.255.0", Enabled: true},
		{NetworkName: "tender-lab", IP: "192.168.127.1", Lower: "192.168.127.128", Upper: "192.168.127.254", NetworkMask: "255.255.255.0", Enabled: true,
			Fixed: map[string]string{"52:54:00:6c:61:01": "192.168.127.2", "08:00:27:a1:b2:c3": ""}},
	}
	if !reflect.DeepEqual(servers, want) {
		t.Errorf("servers = %+v", servers)
	}
}

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		file    string
		want    string
		rev     string
		tooOld  bool
		wantErr bool
	}{
		{"version-7.0.txt", "7.0.20", "r163906", false, false},
		{"version-6.1-warning.txt", "6.1.50", "r161033", false, false},
		{"version-6.0.txt", "6.0.24", "r139119", true, false},
	} {
		v, err := ParseVersion(readTestdata(t, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if v.String() != tc.want || v.Revision != tc.rev {
			t.Errorf("%s: version %s %s, want %s %s", tc.file, v, v.Revision, tc.want, tc.rev)
		}
		err = CheckVersion(v)
		if (err != nil) != tc.tooOld {
			t.Errorf("%s: CheckVersion = %v", tc.file, err)
		}
	}
	err := CheckVersion(Version{Major: 6, Minor: 0, Patch: 24})
	if err == nil || err.Error() != "VirtualBox 6.0.24 is too old: tender needs 6.1 or newer (upgrade VirtualBox, or use --driver qemu)" {
		t.Errorf("CheckVersion(6.0.24) = %v", err)
	}
	if _, err := ParseVersion("VBoxManage: error: something\n"); err == nil {
		t.Error("no error for output without a version")
	}
}

func TestVTxProblem(t *testing.T) {
	if got := VTxProblem(readTestdata(t, "VBox-novtx.log")); got != "this CPU (or the VM tender runs in) offers no VT-x: enable nested virtualization, or use --driver qemu" {
		t.Errorf("no VT-x: %q", got)
	}
	if got := VTxProblem(readTestdata(t, "VBox-kvm.log")); got == "" || got[:len("another hypervisor")] != "another hypervisor" {
		t.Errorf("KVM holds VT-x: %q", got)
	}
	if got := VTxProblem("00:00:00.1 all fine\n"); got != "" {
		t.Errorf("clean log: %q", got)
	}
}
