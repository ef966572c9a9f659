//go:build linux

package dhcp

import (
	"bytes"
	"encoding/hex"
	"net"
	"reflect"
	"testing"
	"time"
)

var hw = net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

func TestDiscoverEncoding(t *testing.T) {
	b := NewDiscover(0x01020304, hw, "tender").Encode()
	if len(b) != 300 {
		t.Fatalf("length = %d, want 300", len(b))
	}
	wantHead := "01010600" + "01020304" + "0000" + "8000" + "00000000" + "00000000" + "00000000" + "00000000" + "525400123456"
	if got := hex.EncodeToString(b[:34]); got != wantHead {
		t.Errorf("header = %s\nwant     %s", got, wantHead)
	}
	wantOpts := "63825363" + "350101" + "3d0701525400123456" + "0c0674656e646572" + "37070103060f77333a" + "ff"
	if got := hex.EncodeToString(b[236 : 236+len(wantOpts)/2]); got != wantOpts {
		t.Errorf("options = %s\nwant      %s", got, wantOpts)
	}
}

func TestRoundTrip(t *testing.T) {
	offer := &Message{Op: opReply, XID: 7, YIAddr: net.IPv4(10, 0, 2, 15).To4(), CHAddr: hw, Options: []Option{
		{OptMessageType, []byte{Offer}},
		{OptServerID, []byte{10, 0, 2, 2}},
	}}
	got, err := Decode(offer.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.XID != 7 || got.Type() != Offer || !got.YIAddr.Equal(offer.YIAddr) || !bytes.Equal(got.CHAddr, hw) {
		t.Errorf("decoded %+v", got)
	}
	req := NewRequest(got, hw, "")
	wantOpts := []Option{
		{OptMessageType, []byte{Request}},
		{OptClientID, append([]byte{1}, hw...)},
		{OptRequestedIP, []byte{10, 0, 2, 15}},
		{OptServerID, []byte{10, 0, 2, 2}},
		{OptParamRequest, params},
	}
	if !reflect.DeepEqual(req.Options, wantOpts) || req.XID != 7 {
		t.Errorf("request options = %v, want %v", req.Options, wantOpts)
	}
}

// A QEMU (slirp) ACK as captured on the wire: 10.0.2.15/24, gw 10.0.2.2,
// dns 10.0.2.3, lease 86400 s.
func slirpAck() *Message {
	return &Message{Op: opReply, XID: 9, YIAddr: net.IPv4(10, 0, 2, 15).To4(), SIAddr: net.IPv4(10, 0, 2, 2).To4(), CHAddr: hw, Options: []Option{
		{OptMessageType, []byte{Ack}},
		{OptServerID, []byte{10, 0, 2, 2}},
		{OptSubnetMask, []byte{255, 255, 255, 0}},
		{OptRouter, []byte{10, 0, 2, 2}},
		{OptDNS, []byte{10, 0, 2, 3}},
		{OptLeaseTime, []byte{0, 1, 0x51, 0x80}},
	}}
}

func TestLeaseFrom(t *testing.T) {
	m, err := Decode(slirpAck().Encode())
	if err != nil {
		t.Fatal(err)
	}
	l, err := LeaseFrom(m)
	if err != nil {
		t.Fatal(err)
	}
	want := Lease{
		Addr:     net.IPv4(10, 0, 2, 15).To4(),
		Mask:     net.IPv4Mask(255, 255, 255, 0),
		Router:   net.IPv4(10, 0, 2, 2).To4(),
		DNS:      []net.IP{net.IPv4(10, 0, 2, 3).To4()},
		Server:   net.IPv4(10, 0, 2, 2).To4(),
		Duration: 24 * time.Hour,
		Renew:    12 * time.Hour,
	}
	if !reflect.DeepEqual(l, want) {
		t.Errorf("lease = %+v\nwant    %+v", l, want)
	}
	if _, err := LeaseFrom(&Message{YIAddr: net.IPv4zero}); err == nil {
		t.Error("lease without an address accepted")
	}
}

func TestDecodeRejects(t *testing.T) {
	good := slirpAck().Encode()
	noCookie := append([]byte(nil), good...)
	noCookie[236] = 0
	truncated := append([]byte(nil), good[:240]...)
	truncated = append(truncated, OptDNS, 8, 10, 0)
	for name, b := range map[string][]byte{
		"short":     good[:100],
		"no cookie": noCookie,
		"truncated": truncated,
	} {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func TestUDPWrapping(t *testing.T) {
	pkt := wrapUDP(net.IPv4zero, net.IPv4bcast, []byte("hi"))
	// 20 + 8 + 2 bytes, TTL 64, UDP, 0.0.0.0 → 255.255.255.255, 68 → 67.
	want := "4500001e000000004011" + "7ad0" + "00000000ffffffff" + "00440043000a0000" + "6869"
	if got := hex.EncodeToString(pkt); got != want {
		t.Errorf("packet = %s\nwant     %s", got, want)
	}
	if checksum(pkt[:20]) != 0 {
		t.Error("IP header checksum does not verify")
	}
	// A reply is the same shape with the ports swapped.
	reply := append([]byte(nil), pkt...)
	reply[20], reply[21], reply[22], reply[23] = 0, 67, 0, 68
	payload, err := unwrapUDP(reply, clientPort)
	if err != nil || string(payload) != "hi" {
		t.Errorf("unwrap = %q, %v", payload, err)
	}
	if _, err := unwrapUDP(pkt, clientPort); err == nil {
		t.Error("packet to port 67 accepted as a reply")
	}
	tcp := append([]byte(nil), reply...)
	tcp[9] = 6
	if _, err := unwrapUDP(tcp, clientPort); err == nil {
		t.Error("TCP packet accepted")
	}
}

func TestDecodeSearch(t *testing.T) {
	wire := func(labels ...string) []byte {
		var b []byte
		for _, l := range labels {
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
		return append(b, 0)
	}
	// "tender.internal", then "lab.tender.internal" whose tail points back
	// at offset 0, as RFC 3397's example compresses it.
	compressed := append(wire("tender", "internal"), 3, 'l', 'a', 'b', 0xC0, 0)
	for _, c := range []struct {
		name string
		in   []byte
		want []string
	}{
		{"none", nil, nil},
		{"one", wire("tender", "internal"), []string{"tender.internal"}},
		{"two", append(wire("a", "example"), wire("b")...), []string{"a.example", "b"}},
		{"compressed", compressed, []string{"tender.internal", "lab.tender.internal"}},
		{"pointer forward", []byte{0xC0, 5, 0}, nil},
		{"pointer to itself", []byte{1, 'a', 0xC0, 0}, nil},
		{"truncated label", []byte{9, 'a', 'b'}, nil},
		{"good then bad", append(wire("ok"), 7, 'x'), []string{"ok"}},
		{"reserved label bits", []byte{0x40, 0}, nil},
	} {
		if got := decodeSearch(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: decodeSearch(%v) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}
