package virtualbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedFiles adds every testdata file whose name starts with prefix: real
// VBoxManage output is the best seed.
func seedFiles(f *testing.F, prefix string) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", prefix+"*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
}

// The VBoxManage parsers read output that another program wrote, in
// whatever version and locale: they must never panic, and what they return
// must be usable. These fuzz targets run in `make fuzz`.

func FuzzParseVMInfo(f *testing.F) {
	seedFiles(f, "showvminfo-")
	f.Add("VMState=\"running\"\nForwarding(0)=\"ssh,tcp,127.0.0.1,2222,,22\"\n")
	f.Add("Forwarding(0)=\"a,b\"\n")
	f.Add("VMState=\"\n")
	f.Fuzz(func(t *testing.T, out string) {
		info, err := ParseVMInfo(out)
		if err != nil {
			return
		}
		for _, r := range info.Forwarding {
			if r.HostPort < 0 || r.GuestPort < 0 {
				t.Fatalf("negative port in %+v from %q", r, out)
			}
		}
	})
}

func FuzzParseRule(f *testing.F) {
	f.Add("ssh,tcp,127.0.0.1,2222,,22")
	f.Add("docker,tcp,,2376,,2376")
	f.Add("a,b,c,d,e,f")
	f.Add(",,,,,")
	f.Add("x,tcp,127.0.0.1,-1,,22")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			return
		}
		if r.HostPort < 0 || r.HostPort > 65535 || r.GuestPort < 0 || r.GuestPort > 65535 {
			t.Fatalf("ParseRule(%q) accepted port out of range: %+v", s, r)
		}
		if strings.Count(s, ",") != 5 {
			t.Fatalf("ParseRule(%q) accepted a rule without 6 fields", s)
		}
	})
}

func FuzzParseVMList(f *testing.F) {
	seedFiles(f, "list-vms")
	f.Add("\"tender-default\" {0b1c3e1e-0000-0000-0000-000000000000}\n")
	f.Add("\"unterminated {x}\n")
	f.Fuzz(func(t *testing.T, out string) { _, _ = ParseVMList(out) })
}

func FuzzParseHostOnlyIfs(f *testing.F) {
	seedFiles(f, "list-hostonlyifs")
	f.Add("Name: vboxnet0\nIPAddress: 192.168.56.1\nNetworkMask: 255.255.255.0\n")
	f.Fuzz(func(t *testing.T, out string) { _, _ = ParseHostOnlyIfs(out) })
}

func FuzzParseDHCPServers(f *testing.F) {
	seedFiles(f, "list-dhcpservers")
	f.Add("NetworkName: HostInterfaceNetworking-vboxnet0\nIP: 192.168.56.2\n")
	f.Fuzz(func(t *testing.T, out string) { _, _ = ParseDHCPServers(out) })
}

func FuzzParseVersion(f *testing.F) {
	seedFiles(f, "version-")
	f.Add("7.0.14r161095\n")
	f.Add("WARNING: The vboxdrv kernel module is not loaded.\n6.1.50r161033\n")
	f.Fuzz(func(t *testing.T, out string) {
		v, err := ParseVersion(out)
		if err == nil {
			_ = CheckVersion(v)
		}
	})
}

func FuzzVTxProblem(f *testing.F) {
	seedFiles(f, "VBox-")
	f.Fuzz(func(t *testing.T, log string) { _ = VTxProblem(log) })
}
