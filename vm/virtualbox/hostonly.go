package virtualbox

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
)

// DefaultHostOnly is the host side of the optional host-only network. It
// lies inside 192.168.56.0/21, the only range VirtualBox 6.1.28 and later
// allow on Linux and macOS without /etc/vbox/networks.conf, and off
// VirtualBox's own default 192.168.56.1 so that it does not collide with
// other tools' vboxnet0.
const DefaultHostOnly = "192.168.59.1/24"

// allowedHostOnly is VirtualBox's default allowed host-only range,
// 192.168.56.0/21. A literal, not parsed by package initialisation.
var allowedHostOnly = &net.IPNet{IP: net.IP{192, 168, 56, 0}, Mask: net.IPMask{255, 255, 248, 0}}

// HostOnlyNet is a host-only network: the host's address on it and the DHCP
// server that gives the guest its address.
type HostOnlyNet struct {
	HostIP net.IP
	Net    *net.IPNet
	DHCPIP net.IP
	Lower  net.IP
	Upper  net.IP
}

func maskString(n HostOnlyNet) string { return net.IP(n.Net.Mask).String() }

// ParseHostOnly reads "192.168.59.1/24" (the host's address and prefix) and
// derives the DHCP server (the next address) and the lease range (the upper
// half of the network, without the broadcast address). On Linux and macOS
// an address outside 192.168.56.0/21 is refused unless allowOutside, with
// the networks.conf fix.
func ParseHostOnly(cidr, goos string, allowOutside bool) (HostOnlyNet, error) {
	ip, n, err := net.ParseCIDR(cidr)
	if err != nil || ip.To4() == nil {
		return HostOnlyNet{}, fmt.Errorf("host-only network %q must be an IPv4 address with a prefix, like %q", cidr, DefaultHostOnly)
	}
	ones, bits := n.Mask.Size()
	if ones < 16 || ones > 29 {
		return HostOnlyNet{}, fmt.Errorf("host-only network %q: the prefix must be between /16 and /29", cidr)
	}
	ip = ip.To4()
	base := binary.BigEndian.Uint32(n.IP.To4())
	size := uint32(1) << (bits - ones)
	host := binary.BigEndian.Uint32(ip)
	if host == base || host == base+size-1 {
		return HostOnlyNet{}, fmt.Errorf("host-only network %q: %s is the network or broadcast address", cidr, ip)
	}
	if goos != "windows" && !allowOutside && !(allowedHostOnly.Contains(n.IP) && allowedHostOnly.Contains(lastIP(base, size))) {
		return HostOnlyNet{}, fmt.Errorf("host-only network %q is outside 192.168.56.0/21, the only range VirtualBox 6.1.28+ allows on %s: %s", cidr, goos, networksConfFix(n))
	}
	u32 := func(v uint32) net.IP { b := make(net.IP, 4); binary.BigEndian.PutUint32(b, v); return b }
	dhcp := host + 1
	if dhcp >= base+size-1 {
		dhcp = host - 1
	}
	lower := base + size/2
	if lower <= host || lower <= dhcp {
		lower = max(host, dhcp) + 1
	}
	return HostOnlyNet{HostIP: ip, Net: n, DHCPIP: u32(dhcp), Lower: u32(lower), Upper: u32(base + size - 2)}, nil
}

func lastIP(base, size uint32) net.IP {
	b := make(net.IP, 4)
	binary.BigEndian.PutUint32(b, base+size-1)
	return b
}

// networksConfFix is the advice for VirtualBox's E_ACCESSDENIED on a
// host-only address outside the allowed ranges.
func networksConfFix(n *net.IPNet) string {
	return fmt.Sprintf("add the line `* %s` to /etc/vbox/networks.conf (as root; create the file if needed), or use an address inside 192.168.56.0/21", n)
}

// chooseHostOnly picks the interface for n: an existing one whose address,
// mask and DHCP server all match is reused; an interface holding the
// address with other settings is an error, because tender never changes
// interfaces it did not create; with none, create is true.
func chooseHostOnly(ifs []HostOnlyIf, servers []DHCPServer, n HostOnlyNet) (name string, create bool, err error) {
	for _, hi := range ifs {
		ip := net.ParseIP(hi.IPAddress)
		if ip == nil || !n.Net.Contains(ip) {
			continue
		}
		if !ip.Equal(n.HostIP) || hi.NetworkMask != maskString(n) {
			return "", false, fmt.Errorf("host-only interface %q (%s/%s) overlaps %s; tender does not change interfaces it did not create: remove or change it in VirtualBox, or choose another host-only network", hi.Name, hi.IPAddress, hi.NetworkMask, n.Net)
		}
		netName := hi.NetworkName
		if netName == "" {
			netName = "HostInterfaceNetworking-" + hi.Name
		}
		for _, s := range servers {
			if s.NetworkName != netName {
				continue
			}
			if s.Enabled && s.IP == n.DHCPIP.String() && s.Lower == n.Lower.String() && s.Upper == n.Upper.String() && s.NetworkMask == maskString(n) {
				return hi.Name, false, nil
			}
			return "", false, fmt.Errorf("host-only interface %q has the address %s but its DHCP server (%s, %s-%s, enabled %v) is not the one tender expects (%s, %s-%s); tender does not change interfaces it did not create: fix it in VirtualBox's network manager, or remove it and let tender create its own",
				hi.Name, hi.IPAddress, s.IP, s.Lower, s.Upper, s.Enabled, n.DHCPIP, n.Lower, n.Upper)
		}
		return "", false, fmt.Errorf("host-only interface %q has the address %s but no DHCP server; tender does not change interfaces it did not create: add one in VirtualBox's network manager, or remove the interface", hi.Name, hi.IPAddress)
	}
	return "", true, nil
}

var createdIf = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`Interface '([^']+)' was successfully created`)
})

// ensureHostOnly returns the host-only interface for n, creating it (with
// its address and DHCP server) when no matching one exists.
func (d *Driver) ensureHostOnly(ctx context.Context, m *manage, n HostOnlyNet) (string, error) {
	out, err := m.run(ctx, listHostOnlyIfsArgs()...)
	if err != nil {
		return "", err
	}
	ifs, err := ParseHostOnlyIfs(out)
	if err != nil {
		return "", err
	}
	out, err = m.run(ctx, listDHCPServersArgs()...)
	if err != nil {
		return "", err
	}
	servers, err := ParseDHCPServers(out)
	if err != nil {
		return "", err
	}
	name, create, err := chooseHostOnly(ifs, servers, n)
	if err != nil || !create {
		return name, err
	}
	out, err = m.run(ctx, hostOnlyIfCreateArgs()...)
	if err != nil {
		return "", err
	}
	mm := createdIf().FindStringSubmatch(out)
	if mm == nil {
		return "", fmt.Errorf("VBoxManage hostonlyif create did not name the new interface: %q", strings.TrimSpace(out))
	}
	name = mm[1]
	if _, err := m.run(ctx, hostOnlyIfIPConfigArgs(name, n)...); err != nil {
		if strings.Contains(err.Error(), "E_ACCESSDENIED") {
			return "", fmt.Errorf("VirtualBox refused the host-only address %s (E_ACCESSDENIED): since 6.1.28 it allows only ranges listed in /etc/vbox/networks.conf, 192.168.56.0/21 by default; %s: %w", n.HostIP, networksConfFix(n.Net), err)
		}
		return "", err
	}
	if _, err := m.run(ctx, dhcpServerAddArgs(name, n)...); err != nil {
		return "", err
	}
	return name, nil
}
