//go:build !windows

package netswitch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/miekg/dns"

	"github.com/tenderdev/tender/network"
)

// These tests run the real switch on real sockets; the VMs are fakes that
// bind each member's VMSocket and exchange raw Ethernet frames with it, as
// QEMU's -netdev dgram does.

var (
	gatewayIP  = net.IPv4(192, 168, 127, 1).To4()
	gatewayHW  = mustMAC(GatewayMAC)
	broadcast  = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	testType   = layers.EthernetType(0x88b6) // IEEE 802's Local Experimental EtherType 2
	shortWait  = 300 * time.Millisecond
	frameWait  = 3 * time.Second
	startWait  = 5 * time.Second
	testDomain = "tender.internal"
)

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// testConfig is a network of the named machines in a temporary directory:
// machine i has MAC 52:54:00:00:00:0(i+2) and address 192.168.127.(i+2).
func testConfig(t *testing.T, names ...string) *network.SwitchConfig {
	t.Helper()
	dir := t.TempDir()
	c := &network.SwitchConfig{
		Name: "lab", Subnet: "192.168.127.0/24", Gateway: "192.168.127.1",
		Domain: testDomain, MTU: 1500, PIDFile: filepath.Join(dir, "switch.pid"),
	}
	for i, n := range names {
		c.Members = append(c.Members, network.Member{
			Machine:      n,
			MAC:          fmt.Sprintf("52:54:00:00:00:%02x", i+2),
			Address:      fmt.Sprintf("192.168.127.%d", i+2),
			VMSocket:     filepath.Join(dir, n+".vm"),
			SwitchSocket: filepath.Join(dir, n+".sw"),
		})
	}
	return c
}

// syncBuffer is Run's log in a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the switch until the returned stop (or the test's end), once
// its PID file says it is ready. stop checks that Run returned nil.
func start(t *testing.T, c *network.SwitchConfig) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() { done <- Run(ctx, c, logs) }()
	deadline := time.Now().Add(startWait)
	for {
		if _, err := os.Stat(c.PIDFile); err == nil {
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("Run returned before it was ready: %v\n%s", err, logs)
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no PID file %s after %v\n%s", c.PIDFile, startWait, logs)
		}
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(startWait):
				t.Errorf("Run did not return %v after its context ended", startWait)
			}
			if t.Failed() {
				t.Logf("switch log:\n%s", logs)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// fakeVM is a hypervisor's end of a member's NIC.
type fakeVM struct {
	t      *testing.T
	m      network.Member
	mac    net.HardwareAddr
	ip     net.IP
	conn   *net.UnixConn
	frames chan []byte
}

// bindVM binds the member's VMSocket and collects the frames sent to it,
// answering ARP requests for its address, as a guest would.
func bindVM(t *testing.T, m network.Member) *fakeVM {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: m.VMSocket, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	v := &fakeVM{t: t, m: m, mac: mustMAC(m.MAC), ip: net.ParseIP(m.Address).To4(), conn: conn, frames: make(chan []byte, 4096)}
	go func() {
		for {
			b := make([]byte, 65536)
			n, err := conn.Read(b)
			if err != nil {
				return
			}
			if reply := v.arpReply(b[:n]); reply != nil {
				_, _ = conn.WriteToUnix(reply, &net.UnixAddr{Name: m.SwitchSocket, Net: "unixgram"})
			}
			select {
			case v.frames <- b[:n]:
			default:
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); os.Remove(m.VMSocket) })
	return v
}

// arpReply is the answer to an ARP request for the VM's address, or nil.
func (v *fakeVM) arpReply(frame []byte) []byte {
	arp, ok := decode(frame).Layer(layers.LayerTypeARP).(*layers.ARP)
	if !ok || arp.Operation != layers.ARPRequest || !net.IP(arp.DstProtAddress).Equal(v.ip) {
		return nil
	}
	buf := gopacket.NewSerializeBuffer()
	if gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
		&layers.Ethernet{DstMAC: arp.SourceHwAddress, SrcMAC: v.mac, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPReply, SourceHwAddress: v.mac, SourceProtAddress: v.ip,
			DstHwAddress: arp.SourceHwAddress, DstProtAddress: arp.SourceProtAddress}) != nil {
		return nil
	}
	return buf.Bytes()
}

func (v *fakeVM) send(frame []byte) {
	v.t.Helper()
	if _, err := v.conn.WriteToUnix(frame, &net.UnixAddr{Name: v.m.SwitchSocket, Net: "unixgram"}); err != nil {
		v.t.Fatalf("%s: sending a frame to the switch: %v", v.m.Machine, err)
	}
}

// expect returns the first frame that match accepts, skipping others.
func (v *fakeVM) expect(what string, match func(gopacket.Packet) bool) gopacket.Packet {
	v.t.Helper()
	timeout := time.After(frameWait)
	for {
		select {
		case b := <-v.frames:
			if p := decode(b); match(p) {
				return p
			}
		case <-timeout:
			v.t.Fatalf("%s got no %s within %v", v.m.Machine, what, frameWait)
			return nil
		}
	}
}

// none fails if a frame that match accepts reaches any of vms within
// shortWait (one wait for all of them).
func none(t *testing.T, what string, match func(gopacket.Packet) bool, vms ...*fakeVM) {
	t.Helper()
	time.Sleep(shortWait)
	for _, v := range vms {
		for drained := false; !drained; {
			select {
			case b := <-v.frames:
				if match(decode(b)) {
					t.Errorf("%s got %s", v.m.Machine, what)
				}
			default:
				drained = true
			}
		}
	}
}

func decode(b []byte) gopacket.Packet {
	return gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
}

func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testFrame is a frame of testType that says what it is.
func testFrame(t *testing.T, dst, src net.HardwareAddr, text string) []byte {
	return serialize(t, &layers.Ethernet{DstMAC: dst, SrcMAC: src, EthernetType: testType}, gopacket.Payload(text))
}

// isTestFrame accepts the test frame that says text.
func isTestFrame(text string) func(gopacket.Packet) bool {
	return func(p gopacket.Packet) bool {
		eth, ok := p.LinkLayer().(*layers.Ethernet)
		return ok && eth.EthernetType == testType && strings.HasPrefix(string(eth.Payload), text)
	}
}

func anyTestFrame(p gopacket.Packet) bool {
	eth, ok := p.LinkLayer().(*layers.Ethernet)
	return ok && eth.EthernetType == testType
}

func udpFrame(t *testing.T, dstMAC, srcMAC net.HardwareAddr, src, dst net.IP, sport, dport int, payload []byte) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src, DstIP: dst}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	return serialize(t, &layers.Ethernet{DstMAC: dstMAC, SrcMAC: srcMAC, EthernetType: layers.EthernetTypeIPv4}, ip, udp, gopacket.Payload(payload))
}

func tcpSYN(t *testing.T, dstMAC, srcMAC net.HardwareAddr, src, dst net.IP, sport, dport int) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), SYN: true, Seq: 1000, Window: 64240}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	return serialize(t, &layers.Ethernet{DstMAC: dstMAC, SrcMAC: srcMAC, EthernetType: layers.EthernetTypeIPv4}, ip, tcp)
}

// udpTo accepts a UDP datagram from sport to dport.
func udpTo(sport, dport int) func(gopacket.Packet) bool {
	return func(p gopacket.Packet) bool {
		u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		return ok && int(u.SrcPort) == sport && int(u.DstPort) == dport
	}
}

func udpPayload(p gopacket.Packet) []byte {
	return p.Layer(layers.LayerTypeUDP).(*layers.UDP).Payload
}

func tcpTo(dport int) func(gopacket.Packet) bool {
	return func(p gopacket.Packet) bool {
		tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		return ok && int(tcp.DstPort) == dport
	}
}

func TestDHCPGivesEachMachineItsStaticLease(t *testing.T) {
	c := testConfig(t, "n1", "n2")
	vms := []*fakeVM{bindVM(t, c.Members[0]), bindVM(t, c.Members[1])}
	start(t, c)
	for _, v := range vms {
		t.Run(v.m.Machine, func(t *testing.T) {
			v.t = t
			discover, err := dhcpv4.NewDiscovery(v.mac)
			if err != nil {
				t.Fatal(err)
			}
			v.send(udpFrame(t, broadcast, v.mac, net.IPv4zero, net.IPv4bcast, 68, 67, discover.ToBytes()))
			offer := v.dhcpReply(discover.TransactionID)
			if got := offer.MessageType(); got != dhcpv4.MessageTypeOffer {
				t.Fatalf("reply to DISCOVER is a %v, want an OFFER", got)
			}
			checkLease(t, offer, v.ip)

			request, err := dhcpv4.NewRequestFromOffer(offer)
			if err != nil {
				t.Fatal(err)
			}
			v.send(udpFrame(t, broadcast, v.mac, net.IPv4zero, net.IPv4bcast, 68, 67, request.ToBytes()))
			ack := v.dhcpReply(request.TransactionID)
			if got := ack.MessageType(); got != dhcpv4.MessageTypeAck {
				t.Fatalf("reply to REQUEST is a %v, want an ACK", got)
			}
			checkLease(t, ack, v.ip)
		})
	}
}

// dhcpReply waits for the server's reply to the transaction xid. Replies
// are broadcast, so every member sees every one.
func (v *fakeVM) dhcpReply(xid dhcpv4.TransactionID) *dhcpv4.DHCPv4 {
	v.t.Helper()
	var reply *dhcpv4.DHCPv4
	v.expect("DHCP reply", func(p gopacket.Packet) bool {
		if !udpTo(67, 68)(p) {
			return false
		}
		m, err := dhcpv4.FromBytes(udpPayload(p))
		if err != nil || m.TransactionID != xid {
			return false
		}
		reply = m
		return true
	})
	return reply
}

func checkLease(t *testing.T, m *dhcpv4.DHCPv4, want net.IP) {
	t.Helper()
	if !m.YourIPAddr.Equal(want) {
		t.Errorf("address %v, want the static lease %v", m.YourIPAddr, want)
	}
	if got := m.ServerIdentifier(); !got.Equal(gatewayIP) {
		t.Errorf("server identifier %v, want the gateway %v", got, gatewayIP)
	}
	if got := net.IP(m.SubnetMask()); !got.Equal(net.IPv4(255, 255, 255, 0).To4()) {
		t.Errorf("subnet mask %v, want 255.255.255.0", got)
	}
	if got := m.Router(); len(got) != 1 || !got[0].Equal(gatewayIP) {
		t.Errorf("router %v, want the gateway %v", got, gatewayIP)
	}
	if got := m.DNS(); len(got) != 1 || !got[0].Equal(gatewayIP) {
		t.Errorf("DNS servers %v, want the gateway %v", got, gatewayIP)
	}
	if got := m.DomainSearch(); got == nil || !slices.Equal(got.Labels, []string{testDomain}) {
		t.Errorf("search domains %v, want [%s]", got, testDomain)
	}
	if got := m.GetOneOption(dhcpv4.OptionInterfaceMTU); !bytes.Equal(got, []byte{1500 >> 8, 1500 & 0xff}) {
		t.Errorf("MTU option %v, want 1500", got)
	}
}

func TestFramesBetweenMachines(t *testing.T) {
	c := testConfig(t, "n1", "n2", "n3")
	a, b, cc := bindVM(t, c.Members[0]), bindVM(t, c.Members[1]), bindVM(t, c.Members[2])
	start(t, c)

	a.send(testFrame(t, broadcast, a.mac, "broadcast from n1"))
	b.expect("n1's broadcast", isTestFrame("broadcast from n1"))
	cc.expect("n1's broadcast", isTestFrame("broadcast from n1"))

	// n2 has sent nothing yet: the switch knows its MAC from the start.
	a.send(testFrame(t, b.mac, a.mac, "unicast to n2"))
	b.expect("n1's unicast", isTestFrame("unicast to n2"))

	b.send(testFrame(t, a.mac, b.mac, "reply to n1"))
	a.expect("n2's reply", isTestFrame("reply to n1"))

	// A frame for a MAC on no port goes nowhere.
	a.send(testFrame(t, mustMAC("52:54:00:99:99:99"), a.mac, "to nobody"))

	// And nothing else arrived anywhere: no frame back to its sender, no
	// unicast to a third.
	none(t, "a test frame it should not have", anyTestFrame, a, b, cc)
}

func TestFramesNotFromTheMembersVMAreDropped(t *testing.T) {
	c := testConfig(t, "n1", "n2")
	a, b := bindVM(t, c.Members[0]), bindVM(t, c.Members[1])
	start(t, c)

	// Another socket than n1's VM, sending to n1's switch socket.
	stranger, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(filepath.Dir(c.PIDFile), "x.vm"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	if _, err := stranger.WriteToUnix(testFrame(t, broadcast, a.mac, "stranger"), &net.UnixAddr{Name: a.m.SwitchSocket, Net: "unixgram"}); err != nil {
		t.Fatal(err)
	}
	// n1's VM claiming n2's MAC, the gateway's, or none.
	a.send(testFrame(t, broadcast, b.mac, "spoofed n2"))
	a.send(testFrame(t, broadcast, gatewayHW, "spoofed gateway"))
	a.send(testFrame(t, broadcast, net.HardwareAddr{0, 0, 0, 0, 0, 0}, "no source"))
	a.send(testFrame(t, broadcast, broadcast, "group source"))
	a.send([]byte{0xff, 0xff, 0xff}) // a runt
	none(t, "a frame that was not n1's", anyTestFrame, b)

	// n2 still has its port: the spoofed frames did not move it.
	a.send(testFrame(t, b.mac, a.mac, "still n2's"))
	b.expect("n1's unicast", isTestFrame("still n2's"))
}

func TestDNSAnswersTheMachinesNames(t *testing.T) {
	c := testConfig(t, "n1", "n2", "web.1")
	a := bindVM(t, c.Members[0])
	start(t, c)

	tests := []struct {
		name  string
		qtype uint16
		rcode int
		want  []string // A records
	}{
		{"n2.tender.internal.", dns.TypeA, dns.RcodeSuccess, []string{"192.168.127.3"}},
		{"n1.tender.internal.", dns.TypeA, dns.RcodeSuccess, []string{"192.168.127.2"}},
		{"N2.tender.internal.", dns.TypeA, dns.RcodeSuccess, []string{"192.168.127.3"}},
		{"web.1.tender.internal.", dns.TypeA, dns.RcodeSuccess, []string{"192.168.127.4"}},
		{"nope.tender.internal.", dns.TypeA, dns.RcodeNameError, nil},
		// Only A records are served: other types of a machine's name
		// get no answer, and no error (resolvers ask for AAAA too).
		{"n2.tender.internal.", dns.TypeAAAA, dns.RcodeSuccess, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name+"/"+dns.TypeToString[tt.qtype], func(t *testing.T) {
			a.t = t
			q := new(dns.Msg)
			q.SetQuestion(tt.name, tt.qtype)
			packed, err := q.Pack()
			if err != nil {
				t.Fatal(err)
			}
			port := 40000 + i
			a.send(udpFrame(t, gatewayHW, a.mac, a.ip, gatewayIP, port, 53, packed))
			p := a.expect("DNS answer", udpTo(53, port))
			r := new(dns.Msg)
			if err := r.Unpack(udpPayload(p)); err != nil {
				t.Fatal(err)
			}
			if r.Id != q.Id || r.Rcode != tt.rcode {
				t.Errorf("answer id %d rcode %s, want id %d rcode %s", r.Id, dns.RcodeToString[r.Rcode], q.Id, dns.RcodeToString[tt.rcode])
			}
			var got []string
			for _, rr := range r.Answer {
				if rec, ok := rr.(*dns.A); ok {
					got = append(got, rec.A.String())
				}
			}
			if !slices.Equal(got, tt.want) || len(r.Answer) != len(tt.want) {
				t.Errorf("answers %v, want A records %v", r.Answer, tt.want)
			}
		})
	}
}

func TestGatewayAnswersARP(t *testing.T) {
	c := testConfig(t, "n1")
	a := bindVM(t, c.Members[0])
	start(t, c)
	a.send(serialize(t,
		&layers.Ethernet{DstMAC: broadcast, SrcMAC: a.mac, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: a.mac, SourceProtAddress: a.ip,
			DstHwAddress: make([]byte, 6), DstProtAddress: gatewayIP}))
	a.expect("ARP reply for the gateway", func(p gopacket.Packet) bool {
		arp, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP)
		return ok && arp.Operation == layers.ARPReply && net.IP(arp.SourceProtAddress).Equal(gatewayIP) &&
			bytes.Equal(arp.SourceHwAddress, gatewayHW)
	})
}

// The gateway is no path off the host: what a guest sends through it to an
// address of the host is not forwarded, over TCP or UDP. Its own DNS port
// takes TCP; its other ports refuse it.
func TestGatewayForwardsNothingOffTheHost(t *testing.T) {
	hostIP := hostAddress(t)
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: hostIP})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: hostIP})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	tcpPort, udpPort := ln.Addr().(*net.TCPAddr).Port, udp.LocalAddr().(*net.UDPAddr).Port

	c := testConfig(t, "n1")
	a := bindVM(t, c.Members[0])
	start(t, c)

	a.send(tcpSYN(t, gatewayHW, a.mac, a.ip, hostIP, 41000, tcpPort))
	a.send(udpFrame(t, gatewayHW, a.mac, a.ip, hostIP, 41001, udpPort, []byte("out")))
	none(t, "an answer from the host", func(p gopacket.Packet) bool { return tcpTo(41000)(p) || udpTo(udpPort, 41001)(p) }, a)
	_ = ln.SetDeadline(time.Now().Add(shortWait))
	if conn, err := ln.Accept(); err == nil {
		conn.Close()
		t.Errorf("the host's %v accepted a connection a guest sent through the gateway", ln.Addr())
	}
	_ = udp.SetDeadline(time.Now().Add(shortWait))
	if _, from, err := udp.ReadFrom(make([]byte, 100)); err == nil {
		t.Errorf("the host's %v got a datagram a guest sent through the gateway (from %v)", udp.LocalAddr(), from)
	}

	a.send(tcpSYN(t, gatewayHW, a.mac, a.ip, gatewayIP, 41002, 53))
	synAck := a.expect("SYN-ACK from the gateway's DNS port", tcpTo(41002)).Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !synAck.SYN || !synAck.ACK {
		t.Errorf("gateway:53 answered a SYN with %+v, want SYN-ACK", synAck)
	}
	a.send(tcpSYN(t, gatewayHW, a.mac, a.ip, gatewayIP, 41003, 22))
	rst := a.expect("RST from the gateway's port 22", tcpTo(41003)).Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !rst.RST {
		t.Errorf("gateway:22 answered a SYN with %+v, want RST", rst)
	}
}

// hostAddress is one of the host's IPv4 addresses other than loopback ones:
// a forwarder would reach it.
func hostAddress(t *testing.T) net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.To4()
		}
	}
	t.Skip("the host has no IPv4 address but loopback")
	return nil
}

// A member whose VM is not running, with no socket file or a stale one, or
// whose VM does not read, does not keep frames from the others; when it
// starts, it gets frames too.
func TestMachinesThatAreNotRunningDoNotStopTheOthers(t *testing.T) {
	c := testConfig(t, "n1", "n2", "n3", "n4")
	a, b := bindVM(t, c.Members[0]), bindVM(t, c.Members[1])
	// n3: a stale socket file, bound by nobody (sendto: ECONNREFUSED).
	stale, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: c.Members[2].VMSocket, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	stale.Close() // a unixgram socket leaves its file behind
	// n4: bound, never read: its queue fills (EAGAIN).
	deaf, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: c.Members[3].VMSocket, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer deaf.Close()
	// n5 would have no socket file at all (ENOENT): that is n3 after
	// this, below.
	start(t, c)

	const frames = 200
	began := time.Now()
	for i := range frames {
		a.send(testFrame(t, broadcast, a.mac, fmt.Sprintf("frame %d;", i)))
		b.expect(fmt.Sprintf("frame %d", i), isTestFrame(fmt.Sprintf("frame %d;", i)))
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("%d frames took %v with a deaf member", frames, took)
	}

	if err := os.Remove(c.Members[2].VMSocket); err != nil {
		t.Fatal(err)
	}
	a.send(testFrame(t, broadcast, a.mac, "n3 has no socket"))
	b.expect("the broadcast", isTestFrame("n3 has no socket"))

	n3 := bindVM(t, c.Members[2])
	a.send(testFrame(t, broadcast, a.mac, "n3 is up"))
	n3.expect("the broadcast after it started", isTestFrame("n3 is up"))
	a.send(testFrame(t, n3.mac, a.mac, "to n3"))
	n3.expect("a unicast after it started", isTestFrame("to n3"))
}

// The switch restarts under running VMs: they keep their sockets and do
// nothing, and frames flow again, unicast ones too.
func TestRestartUnderRunningMachines(t *testing.T) {
	c := testConfig(t, "n1", "n2")
	a, b := bindVM(t, c.Members[0]), bindVM(t, c.Members[1])
	stop := start(t, c)
	a.send(testFrame(t, b.mac, a.mac, "before"))
	b.expect("a unicast before the restart", isTestFrame("before"))
	stop()
	for _, m := range c.Members {
		if _, err := os.Lstat(m.SwitchSocket); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("switch socket %s after Run returned: %v", m.SwitchSocket, err)
		}
	}

	start(t, c)
	a.send(testFrame(t, b.mac, a.mac, "after"))
	b.expect("a unicast after the restart", isTestFrame("after"))
	b.send(testFrame(t, broadcast, b.mac, "hello again"))
	a.expect("a broadcast after the restart", isTestFrame("hello again"))
}

func TestPIDFileMeansReady(t *testing.T) {
	c := testConfig(t, "n1", "n2", "n3")
	stale := c.Members[1].SwitchSocket
	s, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: stale, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close() // a switch that died: its socket file stays

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, c, &syncBuffer{}) }()
	deadline := time.Now().Add(startWait)
	for {
		if b, err := os.ReadFile(c.PIDFile); err == nil {
			if got := strings.TrimSpace(string(b)); got != strconv.Itoa(os.Getpid()) {
				t.Errorf("PID file says %q, want %d", got, os.Getpid())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no PID file")
		}
		time.Sleep(time.Millisecond)
	}
	// Every socket is bound once the PID file is there.
	for _, m := range c.Members {
		probe, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: m.SwitchSocket, Net: "unixgram"})
		if err != nil {
			t.Errorf("switch socket of %s not bound when the PID file appeared: %v", m.Machine, err)
			continue
		}
		probe.Close()
		if fi, err := os.Stat(m.SwitchSocket); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("switch socket %s: %v, mode %v, want 0600", m.SwitchSocket, err, fi.Mode().Perm())
		}
	}
	// A second switch for the same network does not take its sockets.
	if err := Run(context.Background(), c, &syncBuffer{}); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("a second Run: %v, want the sockets in use", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.PIDFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PID file after Run returned: %v", err)
	}
	for _, m := range c.Members {
		if _, err := os.Lstat(m.SwitchSocket); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("switch socket %s after Run returned: %v", m.SwitchSocket, err)
		}
	}
}

func TestRunFailsBeforeReady(t *testing.T) {
	c := testConfig(t, "n1", "n2")
	c.Members[1].SwitchSocket = filepath.Join(filepath.Dir(c.PIDFile), "missing", "n2.sw")
	err := Run(context.Background(), c, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), `switch socket of machine "n2"`) {
		t.Fatalf("Run with an unbindable socket: %v", err)
	}
	if _, err := os.Stat(c.PIDFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PID file after a failed Run: %v", err)
	}
	if _, err := os.Lstat(c.Members[0].SwitchSocket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("n1's switch socket after a failed Run: %v", err)
	}

	c.MTU = 0
	if err := Run(context.Background(), c, &syncBuffer{}); err == nil || !strings.Contains(err.Error(), "field `mtu`") {
		t.Errorf("Run with MTU 0: %v", err)
	}
}

// When the switch drops a port (it closes the connection after a write
// error), the port is connected again and frames flow.
func TestDroppedPortIsConnectedAgain(t *testing.T) {
	c := testConfig(t, "n1", "n2")
	a, b := bindVM(t, c.Members[0]), bindVM(t, c.Members[1])
	s, err := check(c)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := newGateway(s)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var ports []*port
	for i, m := range s.members {
		p, err := listen(m, [][]byte{gatewayHW, s.members[1-i].mac}, gatewayHW)
		if err != nil {
			t.Fatal(err)
		}
		defer p.close()
		ports = append(ports, p)
		wg.Add(1)
		go func() { defer wg.Done(); p.serve(ctx, gw.sw) }()
	}
	defer func() {
		cancel()
		for _, p := range ports {
			p.stop()
		}
		wg.Wait()
	}()
	for _, p := range ports {
		<-p.ready
	}

	a.send(testFrame(t, b.mac, a.mac, "first"))
	b.expect("a unicast", isTestFrame("first"))
	for _, p := range ports {
		p.mu.Lock()
		s := p.current
		p.mu.Unlock()
		_ = s.Close() // as the switch's disconnect does
	}
	deadline := time.Now().Add(frameWait)
	for {
		a.send(testFrame(t, b.mac, a.mac, "again"))
		select {
		case f := <-b.frames:
			if isTestFrame("again")(decode(f)) {
				return
			}
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no frames after the switch dropped the ports")
		}
	}
}
