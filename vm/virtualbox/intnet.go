package virtualbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/tenderdev/tender/vm"
)

// A tender network (vm.Spec.Network) is, under VirtualBox, the internal
// network "tender-NAME": NIC 2 of each machine on it is on that network
// with the machine's MAC, and the network's DHCP server (VirtualBox's own,
// which starts with the first VM on the network) gives each MAC its static
// lease as a fixed address. No switch process is involved.
//
// An internal network has no DNS: VirtualBox's DHCP server hands out
// addresses only, and nothing answers for names such as
// n2.tender.internal, which the QEMU driver's switch serves. Under
// VirtualBox the machines reach each other by address; names need the
// guest to be told them another way (an /etc/hosts written from the
// network's members, say).

// intnetPrefix starts the name of every internal network tender makes; the
// driver removes DHCP servers of such networks only.
const intnetPrefix = "tender-"

// intnetPlan is a machine's NIC on a tender network, checked, and the DHCP
// server of its internal network: the subnet's first address serves, and
// the dynamic pool (which no tender machine uses: each has its fixed
// address) is the upper half of the subnet without the broadcast address,
// as for the host-only network.
type intnetPlan struct {
	Network string // "tender-lab"
	MAC     net.HardwareAddr
	Address net.IP
	Subnet  *net.IPNet
	Server  net.IP
	Lower   net.IP
	Upper   net.IP
}

// planIntnet checks n and derives the internal network's DHCP server.
func planIntnet(n *vm.NetworkAttachment) (intnetPlan, error) {
	var errs []error
	if n.Name == "" || strings.ContainsAny(n.Name, " \t\n\"'") {
		errs = append(errs, fmt.Errorf("network name %q cannot name a VirtualBox internal network", n.Name))
	}
	mac, err := net.ParseMAC(n.MAC)
	if err != nil || len(mac) != 6 || strings.Count(n.MAC, ":") != 5 || mac[0]&1 != 0 {
		errs = append(errs, fmt.Errorf("network %q: MAC address %q must be a unicast address like \"52:54:00:12:34:56\"", n.Name, n.MAC))
	}
	_, subnet, err := net.ParseCIDR(n.Subnet)
	ones, bits := 0, 0
	if subnet != nil {
		ones, bits = subnet.Mask.Size()
	}
	if err != nil || subnet.IP.To4() == nil || ones < 8 || ones > 30 {
		errs = append(errs, fmt.Errorf("network %q: subnet %q must be an IPv4 network like \"192.168.127.0/24\", /8 to /30", n.Name, n.Subnet))
		return intnetPlan{}, errors.Join(errs...)
	}
	base := binary.BigEndian.Uint32(subnet.IP.To4())
	size := uint32(1) << (bits - ones)
	ip := func(v uint32) net.IP { b := make(net.IP, 4); binary.BigEndian.PutUint32(b, v); return b }
	p := intnetPlan{Network: intnetPrefix + n.Name, MAC: mac, Subnet: subnet,
		Server: ip(base + 1), Lower: ip(base + size/2), Upper: ip(base + size - 2)}
	addr := net.ParseIP(n.Address).To4()
	switch {
	case addr == nil:
		errs = append(errs, fmt.Errorf("network %q: address %q must be an IPv4 address", n.Name, n.Address))
	case !subnet.Contains(addr):
		errs = append(errs, fmt.Errorf("network %q: address %s is outside the subnet %s", n.Name, addr, subnet))
	case binary.BigEndian.Uint32(addr) <= base+1 || binary.BigEndian.Uint32(addr) == base+size-1:
		errs = append(errs, fmt.Errorf("network %q: address %s is the subnet's network, broadcast or DHCP server (%s) address", n.Name, addr, p.Server))
	}
	p.Address = addr
	return p, errors.Join(errs...)
}

// checkNetwork is what Preflight and Create refuse before making anything:
// a bad attachment, and a tender network together with the host-only
// network, which would both be NIC 2.
func (d *Driver) checkNetwork(s vm.Spec) (intnetPlan, error) {
	if s.Network == nil {
		return intnetPlan{}, nil
	}
	if d.HostOnly != "" {
		return intnetPlan{}, fmt.Errorf("machine %q cannot be on network %q and have a host-only network: both are NIC 2 under VirtualBox", s.Name, s.Network.Name)
	}
	return planIntnet(s.Network)
}

// ensureIntnetDHCP makes sure p's internal network has its DHCP server,
// then gives p's MAC its fixed address. A server already there is reused,
// and corrected if its addresses are not p's (tender owns the tender-*
// networks, and one subnet per name: other settings are stale).
func (d *Driver) ensureIntnetDHCP(ctx context.Context, m *manage, p intnetPlan) error {
	out, err := m.run(ctx, listDHCPServersArgs()...)
	if err != nil {
		return err
	}
	servers, err := ParseDHCPServers(out)
	if err != nil {
		return err
	}
	verb := "add"
	for _, s := range servers {
		if s.NetworkName != p.Network {
			continue
		}
		verb = ""
		if !s.Enabled || s.IP != p.Server.String() || s.NetworkMask != net.IP(p.Subnet.Mask).String() ||
			s.Lower != p.Lower.String() || s.Upper != p.Upper.String() {
			verb = "modify"
		}
	}
	if verb != "" {
		_, err := m.run(ctx, dhcpServerIntnetArgs(verb, p)...)
		var verr *Error
		if verb == "add" && errors.As(err, &verr) && strings.Contains(verr.Stderr, "DHCP server already exists") {
			// Another machine's init added it since the list: reuse it.
			_, err = m.run(ctx, dhcpServerIntnetArgs("modify", p)...)
		}
		if err != nil {
			return fmt.Errorf("setting up the DHCP server of VirtualBox's internal network %q: %w", p.Network, err)
		}
	}
	if _, err := m.run(ctx, dhcpFixedAddressArgs(p.Network, p.MAC, p.Address)...); err != nil {
		return fmt.Errorf("giving %s the address %s on VirtualBox's internal network %q: %w", p.MAC, p.Address, p.Network, err)
	}
	return nil
}

// intnetNIC is a NIC of a VM on one of tender's internal networks.
type intnetNIC struct {
	Network string // "tender-lab"
	MAC     string // "52:54:00:0a:0b:0c", as the DHCP server prints it
}

// intnetNICs lists the NICs of a VM (showvminfo) on tender's internal
// networks.
func intnetNICs(info VMInfo) []intnetNIC {
	var nics []intnetNIC
	for i := 1; i <= 36; i++ { // VirtualBox has up to 36 NICs (ICH9)
		n := fmt.Sprint(i)
		network := info.Values["intnet"+n]
		if info.Values["nic"+n] != "intnet" || !strings.HasPrefix(network, intnetPrefix) {
			continue
		}
		nic := intnetNIC{Network: network}
		if raw := info.Values["macaddress"+n]; len(raw) == 12 {
			var b strings.Builder
			for j := 0; j < 12; j += 2 {
				if j > 0 {
					b.WriteByte(':')
				}
				b.WriteString(strings.ToLower(raw[j : j+2]))
			}
			nic.MAC = b.String()
		}
		nics = append(nics, nic)
	}
	return nics
}

// releaseIntnets undoes ensureIntnetDHCP for the NICs of a VM that is no
// longer registered: each MAC's individual config goes, and the DHCP server
// of a network goes with the last registered VM with a NIC on it. A VM
// whose settings cannot be read counts as on the network: a server is
// left rather than taken from under a machine.
func (d *Driver) releaseIntnets(ctx context.Context, m *manage, nics []intnetNIC) error {
	if len(nics) == 0 {
		return nil
	}
	out, err := m.run(ctx, listDHCPServersArgs()...)
	if err != nil {
		return err
	}
	servers, err := ParseDHCPServers(out)
	if err != nil {
		return err
	}
	var inUse map[string]bool // asked once, and only when a server is there
	for _, nic := range nics {
		for _, s := range servers {
			if s.NetworkName != nic.Network {
				continue
			}
			if _, ok := s.Fixed[nic.MAC]; ok && nic.MAC != "" {
				if _, err := m.run(ctx, dhcpRemoveConfigArgs(nic.Network, nic.MAC)...); err != nil {
					return err
				}
			}
			if inUse == nil {
				if inUse, err = d.intnetsInUse(ctx, m); err != nil {
					return err
				}
			}
			if !inUse[nic.Network] && !inUse["?"] {
				if _, err := m.run(ctx, dhcpServerRemoveArgs(nic.Network)...); err != nil {
					return err
				}
				inUse[nic.Network] = true // removed: not again for another NIC on it
			}
		}
	}
	return nil
}

// intnetsInUse returns the internal networks the registered VMs have NICs
// on; the key "?" means a VM's settings could not be read.
func (d *Driver) intnetsInUse(ctx context.Context, m *manage) (map[string]bool, error) {
	out, err := m.run(ctx, listVMsArgs()...)
	if err != nil {
		return nil, err
	}
	vms, err := ParseVMList(out)
	if err != nil {
		return nil, err
	}
	inUse := map[string]bool{}
	for _, v := range vms {
		out, err := m.run(ctx, showVMInfoArgs(v.UUID)...)
		if err != nil {
			inUse["?"] = true
			continue
		}
		info, err := ParseVMInfo(out)
		if err != nil {
			inUse["?"] = true
			continue
		}
		for _, nic := range intnetNICs(info) {
			inUse[nic.Network] = true
		}
	}
	return inUse, nil
}
