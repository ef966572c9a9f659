//go:build linux

package dhcp

import (
	"encoding/binary"
	"errors"
	"net"
)

const (
	clientPort = 68
	serverPort = 67
)

// wrapUDP puts payload in a UDP datagram inside an IPv4 packet from src:68 to
// dst:67. The UDP checksum is left 0 (allowed for IPv4); the IP header
// checksum is computed.
func wrapUDP(src, dst net.IP, payload []byte) []byte {
	const ipLen, udpLen = 20, 8
	total := ipLen + udpLen + len(payload)
	b := make([]byte, total)
	b[0] = 0x45 // version 4, IHL 5
	binary.BigEndian.PutUint16(b[2:], uint16(total))
	b[8] = 64 // TTL
	b[9] = 17 // UDP
	putIP(b[12:16], src)
	putIP(b[16:20], dst)
	binary.BigEndian.PutUint16(b[10:], checksum(b[:ipLen]))
	u := b[ipLen:]
	binary.BigEndian.PutUint16(u[0:], clientPort)
	binary.BigEndian.PutUint16(u[2:], serverPort)
	binary.BigEndian.PutUint16(u[4:], uint16(udpLen+len(payload)))
	copy(u[udpLen:], payload)
	return b
}

// unwrapUDP returns the payload of an IPv4 UDP packet sent to port, or an
// error when the packet is anything else.
func unwrapUDP(b []byte, port uint16) ([]byte, error) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return nil, errors.New("not an IPv4 packet")
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < 20 || total < ihl+8 || total > len(b) {
		return nil, errors.New("malformed IPv4 packet")
	}
	if b[9] != 17 {
		return nil, errors.New("not UDP")
	}
	if frag := binary.BigEndian.Uint16(b[6:]); frag&0x3fff != 0 {
		return nil, errors.New("fragmented packet")
	}
	u := b[ihl:total]
	if binary.BigEndian.Uint16(u[2:]) != port {
		return nil, errors.New("not for this port")
	}
	ulen := int(binary.BigEndian.Uint16(u[4:]))
	if ulen < 8 || ulen > len(u) {
		return nil, errors.New("malformed UDP datagram")
	}
	return u[8:ulen], nil
}

func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
