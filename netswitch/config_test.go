//go:build !windows

package netswitch

import (
	"strings"
	"testing"

	"github.com/tenderdev/tender/network"
)

func validConfig() *network.SwitchConfig {
	return &network.SwitchConfig{
		Name: "lab", Subnet: "192.168.127.0/24", Gateway: "192.168.127.1",
		Domain: "tender.internal", MTU: 1500, PIDFile: "/run/lab/switch.pid",
		Members: []network.Member{
			{Machine: "n1", MAC: "52:54:00:00:00:02", Address: "192.168.127.2", VMSocket: "/run/lab/n1.vm", SwitchSocket: "/run/lab/n1.sw"},
			{Machine: "n2", MAC: "52:54:00:00:00:03", Address: "192.168.127.3", VMSocket: "/run/lab/n2.vm", SwitchSocket: "/run/lab/n2.sw"},
		},
	}
}

func TestCheckAcceptsAValidConfig(t *testing.T) {
	s, err := check(validConfig())
	if err != nil {
		t.Fatal(err)
	}
	if s.subnet.String() != "192.168.127.0/24" || s.gateway.String() != "192.168.127.1" || len(s.members) != 2 ||
		s.members[1].mac.String() != "52:54:00:00:00:03" || s.members[1].address.String() != "192.168.127.3" {
		t.Errorf("check read %+v", s)
	}
}

// Each problem is named by its JSON field, with what it must be and what
// it is; all of them at once.
func TestCheckSaysEveryProblem(t *testing.T) {
	long := "/" + strings.Repeat("x", 120)
	tests := []struct {
		name   string
		change func(c *network.SwitchConfig)
		want   []string
	}{
		{"no name", func(c *network.SwitchConfig) { c.Name = "" },
			[]string{"field `name` must name the network, like \"lab\""}},
		{"subnet not a subnet", func(c *network.SwitchConfig) { c.Subnet = "lots" },
			[]string{"field `subnet` must be an IPv4 subnet like \"192.168.127.0/24\", got \"lots\""}},
		{"subnet IPv6", func(c *network.SwitchConfig) { c.Subnet = "fd00::/64" },
			[]string{"field `subnet` must be an IPv4 subnet like \"192.168.127.0/24\", got \"fd00::/64\""}},
		{"subnet not masked", func(c *network.SwitchConfig) { c.Subnet = "192.168.127.1/24" },
			[]string{"field `subnet` must be a subnet's first address, like \"192.168.127.0/24\", got \"192.168.127.1/24\""}},
		{"subnet too small", func(c *network.SwitchConfig) { c.Subnet = "192.168.127.0/30" },
			[]string{"field `subnet` must have a prefix length from /8 to /29, got \"192.168.127.0/30\""}},
		{"gateway outside", func(c *network.SwitchConfig) { c.Gateway = "10.0.0.1" },
			[]string{"field `gateway` must be a host address in the subnet 192.168.127.0/24, got \"10.0.0.1\""}},
		{"gateway broadcast", func(c *network.SwitchConfig) { c.Gateway = "192.168.127.255" },
			[]string{"field `gateway` must be a host address in the subnet 192.168.127.0/24, got \"192.168.127.255\""}},
		{"domain", func(c *network.SwitchConfig) { c.Domain = "tender.internal." },
			[]string{"field `domain` must be a DNS domain like \"tender.internal\", got \"tender.internal.\""}},
		{"mtu", func(c *network.SwitchConfig) { c.MTU = 0 },
			[]string{"field `mtu` must be from 576 to 65535, got 0"}},
		{"pid file", func(c *network.SwitchConfig) { c.PIDFile = "switch.pid" },
			[]string{"field `pid_file` must be an absolute path, got \"switch.pid\""}},
		{"no members", func(c *network.SwitchConfig) { c.Members = nil },
			[]string{"field `members` must list at least one machine"}},
		{"machine name", func(c *network.SwitchConfig) { c.Members[1].Machine = "a..b" },
			[]string{"field `members[1].machine` must be a machine name like \"dev-2\" (letters, digits, \"-\", \"_\", \".\"), got \"a..b\""}},
		{"same machine", func(c *network.SwitchConfig) { c.Members[1].Machine = "N1" },
			[]string{"field `members[1].machine` is \"N1\", as `members[0].machine` is: each must be different"}},
		{"mac", func(c *network.SwitchConfig) { c.Members[0].MAC = "zz" },
			[]string{"field `members[0].mac` must be a MAC address like \"52:54:00:12:34:56\", got \"zz\""}},
		{"multicast mac", func(c *network.SwitchConfig) { c.Members[0].MAC = "01:00:5e:00:00:01" },
			[]string{"field `members[0].mac` must be a unicast MAC address (the first byte even, not all zero), got \"01:00:5e:00:00:01\""}},
		{"same mac", func(c *network.SwitchConfig) { c.Members[1].MAC = "52:54:00:00:00:02" },
			[]string{"field `members[1].mac` is \"52:54:00:00:00:02\", as `members[0].mac` is: each must be different"}},
		{"address is the gateway", func(c *network.SwitchConfig) { c.Members[0].Address = "192.168.127.1" },
			[]string{"field `members[0].address` is \"192.168.127.1\", as `gateway` is: each must be different"}},
		{"address outside", func(c *network.SwitchConfig) { c.Members[0].Address = "192.168.128.2" },
			[]string{"field `members[0].address` must be a host address in the subnet 192.168.127.0/24, got \"192.168.128.2\""}},
		{"relative socket", func(c *network.SwitchConfig) { c.Members[0].VMSocket = "n1.vm" },
			[]string{"field `members[0].vm_socket` must be an absolute path, got \"n1.vm\""}},
		{"long socket", func(c *network.SwitchConfig) { c.Members[0].SwitchSocket = long },
			[]string{"field `members[0].switch_socket` must be at most "}},
		{"shared socket", func(c *network.SwitchConfig) { c.Members[1].SwitchSocket = "/run/lab/n1.vm" },
			[]string{"field `members[1].switch_socket` is \"/run/lab/n1.vm\", as `members[0].vm_socket` is: each must be different"}},
		{"several", func(c *network.SwitchConfig) { c.MTU = 70000; c.Members[0].MAC = "" },
			[]string{"field `mtu` must be from 576 to 65535, got 70000", "field `members[0].mac` must be a MAC address like \"52:54:00:12:34:56\", got \"\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(c)
			_, err := check(c)
			if err == nil {
				t.Fatal("check accepted it")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("check said\n%v\nwant %d problems", err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], w) || (!strings.HasSuffix(w, " ") && lines[i] != w) {
					t.Errorf("problem %d:\n got %s\nwant %s", i, lines[i], w)
				}
			}
		})
	}
	if _, err := check(nil); err == nil {
		t.Error("check(nil) accepted it")
	}
}
