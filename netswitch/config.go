package netswitch

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/tenderdev/tender/network"
)

// settings is a SwitchConfig checked and parsed.
type settings struct {
	name    string
	subnet  netip.Prefix
	gateway netip.Addr
	domain  string // without a trailing dot
	mtu     int
	members []member
	pidFile string
}

// member is one machine's port on the switch.
type member struct {
	machine      string
	mac          net.HardwareAddr
	address      netip.Addr
	vmSocket     string
	switchSocket string
}

// MTU bounds: IPv4's minimum datagram every host must take, and the largest
// the DHCP option can carry.
const (
	minMTU = 576
	maxMTU = 65535
)

// maxSocketPath is the longest path a unix socket can be bound to:
// sockaddr_un's sun_path less its terminating NUL (104 bytes on macOS and
// the BSDs, 108 on Linux).
func maxSocketPath() int {
	if runtime.GOOS == "linux" {
		return 107
	}
	return 103
}

// check reads c into settings, or says every problem it has (errors.Join).
func check(c *network.SwitchConfig) (*settings, error) {
	if c == nil {
		return nil, errors.New("no switch configuration")
	}
	var errs []error
	bad := func(field, problem string, got any) {
		errs = append(errs, fmt.Errorf("field `%s` %s, got %s", field, problem, describe(got)))
	}
	s := &settings{name: c.Name, domain: c.Domain, mtu: c.MTU, pidFile: c.PIDFile}
	if c.Name == "" {
		errs = append(errs, errors.New("field `name` must name the network, like \"lab\""))
	}
	subnet, err := netip.ParsePrefix(c.Subnet)
	switch {
	case err != nil || !subnet.Addr().Is4():
		bad("subnet", `must be an IPv4 subnet like "192.168.127.0/24"`, c.Subnet)
	case subnet != subnet.Masked():
		bad("subnet", fmt.Sprintf("must be a subnet's first address, like %q", subnet.Masked()), c.Subnet)
	case subnet.Bits() < 8 || subnet.Bits() > 29:
		bad("subnet", "must have a prefix length from /8 to /29", c.Subnet)
	default:
		s.subnet = subnet
	}
	s.gateway = s.checkHost("gateway", c.Gateway, bad)
	if !isDomain(c.Domain) {
		bad("domain", `must be a DNS domain like "tender.internal"`, c.Domain)
	}
	if c.MTU < minMTU || c.MTU > maxMTU {
		bad("mtu", fmt.Sprintf("must be from %d to %d", minMTU, maxMTU), c.MTU)
	}
	if !filepath.IsAbs(c.PIDFile) {
		bad("pid_file", "must be an absolute path", c.PIDFile)
	}
	if len(c.Members) == 0 {
		errs = append(errs, errors.New("field `members` must list at least one machine"))
	}
	seen := map[string]string{} // what must be unique → the field that has it
	// unique says when value, compared as key, is another field's too.
	unique := func(field, kind, key, value string) {
		if key == "" {
			return
		}
		if first, dup := seen[kind+"\x00"+key]; dup {
			errs = append(errs, fmt.Errorf("field `%s` is %q, as `%s` is: each must be different", field, value, first))
			return
		}
		seen[kind+"\x00"+key] = field
	}
	if s.gateway.IsValid() {
		unique("gateway", "address", s.gateway.String(), c.Gateway)
	}
	for i, m := range c.Members {
		f := func(name string) string { return fmt.Sprintf("members[%d].%s", i, name) }
		p := member{machine: m.Machine, vmSocket: m.VMSocket, switchSocket: m.SwitchSocket}
		if !isMachineName(m.Machine) {
			bad(f("machine"), `must be a machine name like "dev-2" (letters, digits, "-", "_", ".")`, m.Machine)
		}
		// DNS names are case-insensitive: "N1" and "n1" are one name.
		unique(f("machine"), "machine", strings.ToLower(m.Machine), m.Machine)
		mac, err := net.ParseMAC(m.MAC)
		switch {
		case err != nil || len(mac) != 6:
			bad(f("mac"), `must be a MAC address like "52:54:00:12:34:56"`, m.MAC)
		case mac[0]&1 != 0 || isZero(mac):
			bad(f("mac"), "must be a unicast MAC address (the first byte even, not all zero)", m.MAC)
		default:
			p.mac = mac
			unique(f("mac"), "mac", mac.String(), m.MAC)
		}
		p.address = s.checkHost(f("address"), m.Address, bad)
		if p.address.IsValid() {
			unique(f("address"), "address", p.address.String(), m.Address)
		}
		for _, sock := range []struct{ field, path string }{{f("vm_socket"), m.VMSocket}, {f("switch_socket"), m.SwitchSocket}} {
			switch {
			case !filepath.IsAbs(sock.path):
				bad(sock.field, "must be an absolute path", sock.path)
			case len(sock.path) > maxSocketPath():
				bad(sock.field, fmt.Sprintf("must be at most %d bytes long, the most a unix socket's path can be here (it is %d)", maxSocketPath(), len(sock.path)), sock.path)
			}
			unique(sock.field, "socket", filepath.Clean(sock.path), sock.path)
		}
		s.members = append(s.members, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// checkHost parses an address that must be a host of the subnet: neither
// the subnet's own address nor its broadcast address.
func (s *settings) checkHost(field, value string, bad func(field, problem string, got any)) netip.Addr {
	a, err := netip.ParseAddr(value)
	if err != nil || !a.Is4() {
		bad(field, `must be an IPv4 address like "192.168.127.2"`, value)
		return netip.Addr{}
	}
	if !s.subnet.IsValid() {
		return a // the subnet's own error says enough
	}
	if !s.subnet.Contains(a) || a == s.subnet.Addr() || a == lastAddr(s.subnet) {
		bad(field, fmt.Sprintf("must be a host address in the subnet %s", s.subnet), value)
		return netip.Addr{}
	}
	return a
}

// lastAddr is an IPv4 subnet's broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom4(b)
}

// describe shows a value as an error quotes it: a string quoted, a number
// bare.
func describe(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

func isZero(mac net.HardwareAddr) bool {
	for _, b := range mac {
		if b != 0 {
			return false
		}
	}
	return true
}

// isMachineName accepts what a tender machine name may be (config's rule,
// repeated here so tender-net links no configuration code): letters, digits,
// "-", "_" and ".", no empty label, at most 64 bytes. A name with dots is
// served as several labels (dev.2.tender.internal).
func isMachineName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(isAlnum(c) || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// isDomain accepts a DNS domain without its trailing dot: labels of 1 to 63
// letters, digits and inner hyphens.
func isDomain(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
