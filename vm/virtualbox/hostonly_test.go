package virtualbox

import (
	"strings"
	"testing"
)

func TestParseHostOnly(t *testing.T) {
	n, err := ParseHostOnly(DefaultHostOnly, "linux", false)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join([]string{n.HostIP.String(), n.Net.String(), maskString(n), n.DHCPIP.String(), n.Lower.String(), n.Upper.String()}, " ")
	if want := "192.168.59.1 192.168.59.0/24 255.255.255.0 192.168.59.2 192.168.59.128 192.168.59.254"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, tc := range []struct{ cidr, goos, wantErr string }{
		{"192.168.99.1/24", "linux", "outside 192.168.56.0/21"},
		{"192.168.99.1/24", "darwin", "add the line `* 192.168.99.0/24` to /etc/vbox/networks.conf"},
		{"192.168.99.1/24", "windows", ""},
		{"192.168.56.1/20", "linux", "outside 192.168.56.0/21"},
		{"192.168.59.0/24", "linux", "network or broadcast"},
		{"fe80::1/64", "linux", "IPv4"},
		{"lots", "linux", "IPv4"},
	} {
		_, err := ParseHostOnly(tc.cidr, tc.goos, false)
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("%s on %s: %v", tc.cidr, tc.goos, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s on %s: err = %v, want %q", tc.cidr, tc.goos, err, tc.wantErr)
		}
	}
}

func TestChooseHostOnly(t *testing.T) {
	ifs, _ := ParseHostOnlyIfs(readTestdata(t, "list-hostonlyifs.txt"))
	servers, _ := ParseDHCPServers(readTestdata(t, "list-dhcpservers.txt"))
	n, _ := ParseHostOnly(DefaultHostOnly, "linux", false)

	name, create, err := chooseHostOnly(ifs, servers, n)
	if err != nil || create || name != "vboxnet1" {
		t.Errorf("matching interface: %q %v %v, want vboxnet1 reused", name, create, err)
	}

	other, _ := ParseHostOnly("192.168.60.1/24", "linux", false)
	if name, create, err := chooseHostOnly(ifs, servers, other); err != nil || !create || name != "" {
		t.Errorf("no interface on the network: %q %v %v, want create", name, create, err)
	}

	// Same address, different DHCP range: never changed, an error instead.
	servers[1].Lower = "192.168.59.100"
	if _, _, err := chooseHostOnly(ifs, servers, n); err == nil || !strings.Contains(err.Error(), "tender does not change interfaces it did not create") {
		t.Errorf("mismatched DHCP server: %v", err)
	}
	// Another address inside the network: an overlap.
	ifs[1].IPAddress = "192.168.59.7"
	if _, _, err := chooseHostOnly(ifs, servers, n); err == nil || !strings.Contains(err.Error(), "overlaps 192.168.59.0/24") {
		t.Errorf("overlapping interface: %v", err)
	}
}
