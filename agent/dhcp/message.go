//go:build linux

// Package dhcp is a small DHCPv4 client: enough to lease an address from
// QEMU user networking, VirtualBox NAT or an ordinary LAN server. The wire
// format (message.go, packet.go) is pure and unit-tested; client.go talks to
// the network through an AF_PACKET socket so it works before the interface
// has an address.
package dhcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Message types (option 53).
const (
	Discover byte = 1
	Offer    byte = 2
	Request  byte = 3
	Decline  byte = 4
	Ack      byte = 5
	Nak      byte = 6
	Release  byte = 7
)

// Option codes used here.
const (
	OptSubnetMask   byte = 1
	OptRouter       byte = 3
	OptDNS          byte = 6
	OptHostname     byte = 12
	OptDomainName   byte = 15
	OptDomainSearch byte = 119 // RFC 3397
	OptRequestedIP  byte = 50
	OptLeaseTime    byte = 51
	OptMessageType  byte = 53
	OptServerID     byte = 54
	OptParamRequest byte = 55
	OptRenewalTime  byte = 58
	OptClientID     byte = 61
	optPad          byte = 0
	optEnd          byte = 255
)

const (
	opRequest = 1
	opReply   = 2
	// fixedLen is the BOOTP header before the magic cookie.
	fixedLen = 236
)

var magicCookie = []byte{99, 130, 83, 99}

// Option is one code/value pair, kept in order so encoding is deterministic.
type Option struct {
	Code  byte
	Value []byte
}

// Message is a DHCP message (RFC 2131) with the fields a client uses.
type Message struct {
	Op        byte
	XID       uint32
	Secs      uint16
	Broadcast bool
	CIAddr    net.IP
	YIAddr    net.IP
	SIAddr    net.IP
	GIAddr    net.IP
	CHAddr    net.HardwareAddr
	Options   []Option
}

// Option returns the value of the first option with code, or nil.
func (m *Message) Option(code byte) []byte {
	for _, o := range m.Options {
		if o.Code == code {
			return o.Value
		}
	}
	return nil
}

// Type is the DHCP message type, 0 when absent.
func (m *Message) Type() byte {
	if v := m.Option(OptMessageType); len(v) == 1 {
		return v[0]
	}
	return 0
}

// Encode renders m on the wire, padded to the 300 bytes BOOTP relays expect.
func (m *Message) Encode() []byte {
	b := make([]byte, fixedLen, 300)
	b[0] = m.Op
	b[1] = 1 // htype ethernet
	b[2] = 6 // hlen
	binary.BigEndian.PutUint32(b[4:], m.XID)
	binary.BigEndian.PutUint16(b[8:], m.Secs)
	if m.Broadcast {
		binary.BigEndian.PutUint16(b[10:], 0x8000)
	}
	putIP(b[12:16], m.CIAddr)
	putIP(b[16:20], m.YIAddr)
	putIP(b[20:24], m.SIAddr)
	putIP(b[24:28], m.GIAddr)
	copy(b[28:44], m.CHAddr)
	b = append(b, magicCookie...)
	for _, o := range m.Options {
		b = append(b, o.Code, byte(len(o.Value)))
		b = append(b, o.Value...)
	}
	b = append(b, optEnd)
	for len(b) < 300 {
		b = append(b, optPad)
	}
	return b
}

func putIP(dst []byte, ip net.IP) {
	if ip4 := ip.To4(); ip4 != nil {
		copy(dst, ip4)
	}
}

// Decode parses a DHCP message.
func Decode(b []byte) (*Message, error) {
	if len(b) < fixedLen+len(magicCookie) {
		return nil, fmt.Errorf("dhcp message too short: %d bytes", len(b))
	}
	if string(b[fixedLen:fixedLen+4]) != string(magicCookie) {
		return nil, errors.New("dhcp message has no magic cookie")
	}
	hlen := int(b[2])
	if hlen > 16 {
		return nil, fmt.Errorf("dhcp hardware address length %d is too long", hlen)
	}
	m := &Message{
		Op:        b[0],
		XID:       binary.BigEndian.Uint32(b[4:]),
		Secs:      binary.BigEndian.Uint16(b[8:]),
		Broadcast: binary.BigEndian.Uint16(b[10:])&0x8000 != 0,
		CIAddr:    ipAt(b[12:16]),
		YIAddr:    ipAt(b[16:20]),
		SIAddr:    ipAt(b[20:24]),
		GIAddr:    ipAt(b[24:28]),
		CHAddr:    append(net.HardwareAddr(nil), b[28:28+hlen]...),
	}
	opts := b[fixedLen+4:]
	for i := 0; i < len(opts); {
		code := opts[i]
		if code == optEnd {
			break
		}
		if code == optPad {
			i++
			continue
		}
		if i+1 >= len(opts) || i+2+int(opts[i+1]) > len(opts) {
			return nil, fmt.Errorf("dhcp option %d is truncated", code)
		}
		n := int(opts[i+1])
		m.Options = append(m.Options, Option{Code: code, Value: append([]byte(nil), opts[i+2:i+2+n]...)})
		i += 2 + n
	}
	return m, nil
}

func ipAt(b []byte) net.IP { return net.IPv4(b[0], b[1], b[2], b[3]).To4() }

// Lease is what an acknowledged request grants.
type Lease struct {
	Addr     net.IP
	Mask     net.IPMask
	Router   net.IP // nil when the server offers none
	DNS      []net.IP
	Domain   string
	Search   []string // the domain search list, in order
	Server   net.IP
	Duration time.Duration // 0 means infinite
	Renew    time.Duration // T1; half of Duration when the server gives none
}

// LeaseFrom reads a lease out of an ACK (or an OFFER).
func LeaseFrom(m *Message) (Lease, error) {
	if m.YIAddr == nil || m.YIAddr.IsUnspecified() {
		return Lease{}, errors.New("dhcp reply offers no address")
	}
	l := Lease{Addr: m.YIAddr, Server: ipOpt(m.Option(OptServerID))}
	if v := m.Option(OptSubnetMask); len(v) == 4 {
		l.Mask = net.IPMask(append([]byte(nil), v...))
	} else {
		l.Mask = l.Addr.DefaultMask()
	}
	if v := m.Option(OptRouter); len(v) >= 4 {
		l.Router = ipOpt(v[:4])
	}
	v := m.Option(OptDNS)
	for i := 0; i+4 <= len(v); i += 4 {
		l.DNS = append(l.DNS, ipOpt(v[i:i+4]))
	}
	l.Domain = string(m.Option(OptDomainName))
	l.Search = decodeSearch(m.Option(OptDomainSearch))
	if v := m.Option(OptLeaseTime); len(v) == 4 {
		if s := binary.BigEndian.Uint32(v); s != 0xffffffff {
			l.Duration = time.Duration(s) * time.Second
		}
	}
	if v := m.Option(OptRenewalTime); len(v) == 4 {
		l.Renew = time.Duration(binary.BigEndian.Uint32(v)) * time.Second
	} else {
		l.Renew = l.Duration / 2
	}
	return l, nil
}

func ipOpt(v []byte) net.IP {
	if len(v) != 4 {
		return nil
	}
	return net.IPv4(v[0], v[1], v[2], v[3]).To4()
}

// params is the parameter request list every client message carries.
var params = []byte{OptSubnetMask, OptRouter, OptDNS, OptDomainName, OptDomainSearch, OptLeaseTime, OptRenewalTime}

// NewDiscover builds the DISCOVER that starts a lease.
func NewDiscover(xid uint32, hw net.HardwareAddr, hostname string) *Message {
	m := &Message{Op: opRequest, XID: xid, Broadcast: true, CHAddr: hw}
	m.Options = append(m.Options, Option{OptMessageType, []byte{Discover}}, clientID(hw))
	if hostname != "" {
		m.Options = append(m.Options, Option{OptHostname, []byte(hostname)})
	}
	m.Options = append(m.Options, Option{OptParamRequest, params})
	return m
}

// NewRequest builds the REQUEST that accepts offer.
func NewRequest(offer *Message, hw net.HardwareAddr, hostname string) *Message {
	m := &Message{Op: opRequest, XID: offer.XID, Broadcast: true, CHAddr: hw}
	m.Options = append(m.Options,
		Option{OptMessageType, []byte{Request}},
		clientID(hw),
		Option{OptRequestedIP, []byte(offer.YIAddr.To4())},
	)
	if sid := offer.Option(OptServerID); sid != nil {
		m.Options = append(m.Options, Option{OptServerID, sid})
	}
	if hostname != "" {
		m.Options = append(m.Options, Option{OptHostname, []byte(hostname)})
	}
	m.Options = append(m.Options, Option{OptParamRequest, params})
	return m
}

func clientID(hw net.HardwareAddr) Option {
	return Option{OptClientID, append([]byte{1}, hw...)}
}

// decodeSearch reads a domain search list (RFC 3397): DNS names in wire
// format, one after the other, whose labels may end in a pointer to an
// earlier offset of the same list (RFC 1035's compression). A name it
// cannot read ends the list there: what came before it is kept.
func decodeSearch(v []byte) []string {
	var out []string
	for i := 0; i < len(v); {
		name, next, ok := readName(v, i)
		if !ok {
			break
		}
		if name != "" {
			out = append(out, name)
		}
		i = next
	}
	return out
}

// readName reads the name at off and returns it (without the root's dot)
// and the offset after it. Pointers must point backwards, which also bounds
// the loop.
func readName(v []byte, off int) (name string, next int, ok bool) {
	var labels []string
	next = -1
	for limit := off; ; {
		if off >= len(v) {
			return "", 0, false
		}
		n := int(v[off])
		switch {
		case n == 0:
			if next < 0 {
				next = off + 1
			}
			return strings.Join(labels, "."), next, true
		case n&0xC0 == 0xC0:
			if off+1 >= len(v) {
				return "", 0, false
			}
			ptr := (n&0x3F)<<8 | int(v[off+1])
			if ptr >= limit {
				return "", 0, false
			}
			if next < 0 {
				next = off + 2
			}
			off, limit = ptr, ptr
		case n&0xC0 != 0 || off+1+n > len(v):
			return "", 0, false
		default:
			labels = append(labels, string(v[off+1:off+1+n]))
			off += 1 + n
		}
	}
}
