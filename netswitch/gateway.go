//go:build !windows

package netswitch

import (
	"fmt"
	"net"
	"regexp"
	"sync"

	"github.com/containers/gvisor-tap-vsock/pkg/services/dhcp"
	"github.com/containers/gvisor-tap-vsock/pkg/services/dns"
	"github.com/containers/gvisor-tap-vsock/pkg/tap"
	"github.com/containers/gvisor-tap-vsock/pkg/types"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// GatewayMAC is the switch's own port: the DHCP and DNS server's MAC, a
// locally administered address (the second-lowest bit of the first byte).
const GatewayMAC = "02:74:6e:64:72:01"

const nicID tcpip.NICID = 1

// gateway is the switch with its one built-in port, a gVisor network stack
// holding the gateway's address, which serves DHCP and DNS.
//
// It is assembled from gvisor-tap-vsock's parts rather than by its
// virtualnetwork.New, because New (v0.8.9, pkg/virtualnetwork/services.go)
// always installs TCP and UDP forwarders that dial, from the host, whatever
// address a guest's packet is for (with the stack in promiscuous mode to
// take them): the switch would be a path from the guests to the host's
// networks and its loopback services. Here the stack has no forwarders and
// is not promiscuous, so it takes only packets for the gateway's address
// (and broadcasts); TCP to other ports is refused, the rest dropped.
type gateway struct {
	sw             *tap.Switch
	stack          *stack.Stack
	dhcp           *dhcp.Server
	dnsUDP, dnsTCP interface{ Close() error }
	wg             sync.WaitGroup // the DHCP and DNS servers
}

// newGateway builds the switch and starts its DHCP and DNS servers.
func newGateway(s *settings) (*gateway, error) {
	leases := map[string]string{}
	records := make([]types.Record, 0, len(s.members))
	for _, m := range s.members {
		leases[m.address.String()] = m.mac.String()
		// DNS names are case-insensitive (RFC 4343); gvisor-tap-vsock's
		// server compares the record's Name exactly, its Regexp as told.
		records = append(records, types.Record{
			Regexp: regexp.MustCompile(`^(?i:` + regexp.QuoteMeta(m.machine) + `)$`),
			IP:     net.IP(m.address.AsSlice()),
		})
	}
	conf := &types.Configuration{
		MTU:               s.mtu,
		Subnet:            s.subnet.String(),
		GatewayIP:         s.gateway.String(),
		GatewayMacAddress: GatewayMAC,
		DHCPStaticLeases:  leases,
		// A zone's name ends with the root's dot: the server matches it
		// as the suffix "."+Name of the question's fully qualified name.
		DNS:              []types.Zone{{Name: s.domain + ".", Records: records}},
		DNSSearchDomains: []string{s.domain},
	}

	pool := tap.NewIPPool(&net.IPNet{IP: s.subnet.Addr().AsSlice(), Mask: net.CIDRMask(s.subnet.Bits(), 32)})
	pool.Reserve(net.IP(s.gateway.AsSlice()), GatewayMAC)
	for ip, mac := range leases {
		pool.Reserve(net.ParseIP(ip), mac)
	}

	link, err := tap.NewLinkEndpoint(false, uint32(s.mtu), GatewayMAC, conf.GatewayIP, nil)
	if err != nil {
		return nil, fmt.Errorf("gateway port: %w", err)
	}
	g := &gateway{sw: tap.NewSwitch(false)}
	link.Connect(g.sw)
	g.sw.Connect(link)

	g.stack = stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
	})
	ok := false
	defer func() {
		if !ok {
			g.close()
		}
	}()
	if err := g.stack.CreateNIC(nicID, link); err != nil {
		return nil, fmt.Errorf("gateway NIC: %s", err)
	}
	gw := tcpip.AddrFrom4(s.gateway.As4())
	if err := g.stack.AddProtocolAddress(nicID, tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: gw, PrefixLen: s.subnet.Bits()},
	}, stack.AddressProperties{}); err != nil {
		return nil, fmt.Errorf("gateway address: %s", err)
	}
	subnet, err := tcpip.NewSubnet(tcpip.AddrFrom4(s.subnet.Addr().As4()), tcpip.MaskFromBytes(net.CIDRMask(s.subnet.Bits(), 32)))
	if err != nil {
		return nil, fmt.Errorf("gateway route: %w", err)
	}
	g.stack.SetRouteTable([]tcpip.Route{{Destination: subnet, NIC: nicID}})

	g.dhcp, err = dhcp.New(conf, g.stack, pool)
	if err != nil {
		return nil, fmt.Errorf("DHCP server: %w", err)
	}
	dnsAddr := tcpip.FullAddress{NIC: nicID, Addr: gw, Port: 53}
	udpConn, err := gonet.DialUDP(g.stack, &dnsAddr, nil, ipv4.ProtocolNumber)
	if err != nil {
		return nil, fmt.Errorf("DNS server: %w", err)
	}
	g.dnsUDP = udpConn
	tcpLn, err := gonet.ListenTCP(g.stack, dnsAddr, ipv4.ProtocolNumber)
	if err != nil {
		return nil, fmt.Errorf("DNS server: %w", err)
	}
	g.dnsTCP = tcpLn
	// Names outside the zone are looked up with the host's resolver, as
	// gvproxy does, so a guest may use the gateway as its only server.
	dnsServer, err := dns.New(udpConn, tcpLn, conf.DNS)
	if err != nil {
		return nil, fmt.Errorf("DNS server: %w", err)
	}
	// The servers end with an error when close closes their sockets.
	g.wg.Add(3)
	go func() { defer g.wg.Done(); _ = g.dhcp.Serve() }()
	go func() { defer g.wg.Done(); _ = dnsServer.Serve() }()
	go func() { defer g.wg.Done(); _ = dnsServer.ServeTCP() }()
	ok = true
	return g, nil
}

// close stops the servers and the stack. The members' ports must be gone.
func (g *gateway) close() {
	// Closing sockets of this process's own stack: nothing to report.
	if g.dhcp != nil {
		_ = g.dhcp.Underlying.Close()
	}
	if g.dnsUDP != nil {
		_ = g.dnsUDP.Close()
	}
	if g.dnsTCP != nil {
		_ = g.dnsTCP.Close()
	}
	g.wg.Wait()
	g.stack.Destroy()
}
