//go:build linux

package portwatch

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tenderdev/tender/agent/api"
)

// Lines as a 6.12 guest prints them, with docker-proxy on 8080, sshd on 22,
// dockerd on 2376, a loopback-only listener and a connection.
const tcp4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2041 1 0000000000000000 100 0 0 10 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9120 1 0000000000000000 100 0 0 10 0
   2: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9121 1 0000000000000000 100 0 0 10 0
   3: 0F02000A:0016 0202000A:D4C2 01 00000000:00000000 02:0009A2B3 00000000     0        0 9200 2 0000000000000000 20 4 30 10 -1
`

const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0948 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3001 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9122 1 0000000000000000 100 0 0 10 0
   2: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9123 1 0000000000000000 100 0 0 10 0
`

const udp4 = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 9300 2 0000000000000000 0
  101: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 9301 2 0000000000000000 0
  102: 0F02000A:A1B2 0302000A:0035 01 00000000:00000000 00:00000000 00000000     0        0 9302 2 0000000000000000 0
  103: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 9303 2 0000000000000000 0
`

func parse(t *testing.T, s string) []Socket {
	t.Helper()
	socks, err := ParseProcNet(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return socks
}

func TestParseProcNet(t *testing.T) {
	socks := parse(t, tcp4)
	if len(socks) != 4 {
		t.Fatalf("got %d sockets, want 4", len(socks))
	}
	want := []struct {
		ip    string
		port  int
		rport int
		state int
	}{{"0.0.0.0", 22, 0, 0x0A}, {"0.0.0.0", 8080, 0, 0x0A}, {"127.0.0.1", 3306, 0, 0x0A}, {"10.0.2.15", 22, 54466, 0x01}}
	for i, w := range want {
		s := socks[i]
		if s.Local.String() != w.ip || s.LocalPort != w.port || s.RemotePort != w.rport || s.State != w.state {
			t.Errorf("socket %d = %v:%d→:%d st %x, want %s:%d→:%d st %x", i, s.Local, s.LocalPort, s.RemotePort, s.State, w.ip, w.port, w.rport, w.state)
		}
	}
	six := parse(t, tcp6)
	if six[0].Local.String() != "::" || six[2].Local.String() != "::1" || six[2].LocalPort != 8081 {
		t.Errorf("tcp6 = %v %v:%d, want :: and ::1:8081", six[0].Local, six[2].Local, six[2].LocalPort)
	}
}

func TestParseProcNetRejectsGarbage(t *testing.T) {
	for _, in := range []string{
		"sl local\n 0: nothex:0016 00000000:0000 0A\n",
		"sl local\n 0: 00000000 00000000:0000 0A\n",
		"sl local\n 0: 00000000:0016 00000000:0000 ZZ\n",
		"sl local\n 0: 000000:0016 00000000:0000 0A\n",
		"sl local\n 0: 00000000:0016\n",
	} {
		if _, err := ParseProcNet(strings.NewReader(in)); err == nil {
			t.Errorf("ParseProcNet(%q) succeeded", in)
		}
	}
}

func TestListening(t *testing.T) {
	got := api.NewPortSet(Listening("tcp", parse(t, tcp4)), Listening("tcp", parse(t, tcp6)), Listening("udp", parse(t, udp4))).Sorted()
	// 22 and 2376 are reserved, 3306 and 8081 are loopback only, the
	// connection and the connected UDP socket are not listening, 68 is
	// the DHCP client, 8080 on IPv4 and IPv6 is one port.
	want := []api.Port{{Proto: "tcp", Port: 8080}, {Proto: "udp", Port: 5353}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("listening = %v, want %v", got, want)
	}
}

// TestWatch runs the watcher on files it rewrites: the first event lists
// what listens, a change follows within a few intervals.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	tcp := filepath.Join(dir, "tcp")
	write := func(s string) {
		if err := os.WriteFile(tcp, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(tcp4)
	tables := map[string][]string{"tcp": {tcp, filepath.Join(dir, "missing")}}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	ingress := filepath.Join(dir, "ingress-ports")
	go func() { done <- Watch(ctx, pw, tables, ingress, 10*time.Millisecond, time.Hour) }()
	dec := api.NewPortEventDecoder(pr)
	ev, err := dec.Next()
	if err != nil || !reflect.DeepEqual(ev, api.PortEvent{Added: []api.Port{{Proto: "tcp", Port: 8080}}}) {
		t.Fatalf("first event = %+v, %v", ev, err)
	}
	write(strings.Replace(tcp4, "00000000:1F90", "00000000:1F91", 1))
	ev, err = dec.Next()
	if err != nil || !reflect.DeepEqual(ev, api.PortEvent{Added: []api.Port{{Proto: "tcp", Port: 8081}}, Removed: []api.Port{{Proto: "tcp", Port: 8080}}}) {
		t.Fatalf("second event = %+v, %v", ev, err)
	}
	if err := os.WriteFile(ingress, []byte("tcp/8081\nudp/5353\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ev, err = dec.Next()
	if err != nil || !reflect.DeepEqual(ev, api.PortEvent{Added: []api.Port{{Proto: "udp", Port: 5353}}}) {
		t.Fatalf("event after the ingress file = %+v, %v", ev, err)
	}
	if err := os.Remove(ingress); err != nil {
		t.Fatal(err)
	}
	ev, err = dec.Next()
	if err != nil || !reflect.DeepEqual(ev, api.PortEvent{Removed: []api.Port{{Proto: "udp", Port: 5353}}}) {
		t.Fatalf("event after the ingress file went = %+v, %v", ev, err)
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestScan merges the sockets with the ingress file: a port in both is one,
// reserved ports are left out, a missing file or none given adds nothing,
// and a bad file is an error naming it.
func TestScan(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tables := map[string][]string{"tcp": {write("tcp", tcp4)}, "udp": {write("udp", udp4)}}
	sockets := []api.Port{{Proto: "tcp", Port: 8080}, {Proto: "udp", Port: 5353}}
	tests := []struct {
		name    string
		ingress string // the file's path
		want    []api.Port
	}{
		{"ingress ports added", write("ingress", "tcp/80\ntcp/8080\nudp/53\n"),
			[]api.Port{{Proto: "tcp", Port: 80}, {Proto: "tcp", Port: 8080}, {Proto: "udp", Port: 53}, {Proto: "udp", Port: 5353}}},
		{"reserved ports left out", write("reserved", "tcp/22\ntcp/2377\nudp/4789\ntcp/9000\n"),
			[]api.Port{{Proto: "tcp", Port: 8080}, {Proto: "tcp", Port: 9000}, {Proto: "udp", Port: 5353}}},
		{"an empty file", write("empty", ""), sockets},
		{"no file", filepath.Join(dir, "missing"), sockets},
		{"no file given", "", sockets},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Scan(tables, tt.ingress)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Sorted(), tt.want) {
				t.Fatalf("Scan = %v, want %v", got.Sorted(), tt.want)
			}
		})
	}
	bad := write("bad", "tcp/80\nhttp\n")
	_, err := Scan(tables, bad)
	if want := bad + `: ingress ports: line 2: "http" is not tcp/PORT or udp/PORT`; err == nil || err.Error() != want {
		t.Fatalf("Scan with a bad ingress file = %v, want %s", err, want)
	}
}
