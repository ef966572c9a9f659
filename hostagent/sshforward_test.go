package hostagent

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/tenderdev/tender/internal/testfakes"
)

// A tunnelled port joins the host's 127.0.0.1:P to the server's loopback
// port until Unforward; UDP and a taken host port are refused.
func TestTunnelForwarder(t *testing.T) {
	server, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	go testfakes.ServeLines(server, "server:")
	serverPort := server.Addr().(*net.TCPAddr).Port
	var mu sync.Mutex
	var dialled []string
	f := &TunnelForwarder{
		Dial: func(ctx context.Context, addr string) (net.Conn, error) {
			mu.Lock()
			dialled = append(dialled, addr)
			mu.Unlock()
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		},
		Logf: t.Logf,
	}
	defer f.Close()
	hostPort := testfakes.FreeTCPPort(t)
	hostAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(hostPort))
	if err := f.Forward(t.Context(), "tcp", hostPort, serverPort); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", hostAddr)
	if err != nil {
		t.Fatal(err)
	}
	got, err := testfakes.AskLine(c, "hello")
	c.Close()
	if err != nil || got != "server:hello\n" {
		t.Errorf("through the tunnel: %q, %v", got, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(serverPort)); len(dialled) != 1 || dialled[0] != want {
		t.Errorf("dialled %v on the server, want [%s]", dialled, want)
	}

	if err := f.Forward(t.Context(), "tcp", hostPort, serverPort); err == nil {
		t.Error("a second Forward of a port already listened on succeeded")
	}
	if err := f.Forward(t.Context(), "udp", testfakes.FreeTCPPort(t), 53); err == nil {
		t.Error("a UDP port was forwarded over SSH")
	}
	if err := f.Unforward(t.Context(), "tcp", hostPort); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", hostAddr); err == nil {
		c.Close()
		t.Error("the host port still answers after Unforward")
	}
}
