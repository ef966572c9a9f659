package hostagent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderdev/tender/internal/testfakes"
)

// A server's container that publishes a port is reached on the host's
// 127.0.0.1 through the agent, a ServerGuest and a TunnelForwarder, and is
// gone from it when the container stops; the agent leaves the server's
// clock alone. The server's loopback is 127.0.0.2 here, so that the same port
// number can be on both sides, and Dial stands for the SSH connection
// (provision.Client.DialRemote, tested with a real SSH server there).
func TestAgentFollowsAServer(t *testing.T) {
	port := testfakes.FreeTCPPort(t)
	app, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", strconv.Itoa(port)))
	if err != nil {
		t.Skipf("no 127.0.0.2 here: %v", err)
	}
	defer app.Close()
	go testfakes.ServeLines(app, "web:") // the container's service on the server

	// The server's Docker: the container publishes port until stopped.
	var mu sync.Mutex
	var logs strings.Builder
	running := true
	dir, err := os.MkdirTemp("", "sg") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	docker := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !running {
			w.Write([]byte("[]"))
			return
		}
		fmt.Fprintf(w, `[{"Ports":[{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":%d,"Type":"tcp"}]}]`, port)
	})}
	go docker.Serve(l)
	defer docker.Close()

	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if network == "tcp" {
			addr = strings.Replace(addr, "127.0.0.1:", "127.0.0.2:", 1)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	fwd := &TunnelForwarder{Dial: func(ctx context.Context, addr string) (net.Conn, error) { return dial(ctx, "tcp", addr) }, Logf: t.Logf}
	defer fwd.Close()
	a := &Agent{
		Connect: func(context.Context) (Guest, error) {
			return ServerGuest{Dial: dial, Socket: sock, Interval: 20 * time.Millisecond}, nil
		},
		Forwarder: fwd,
		Running:   func(context.Context) bool { return true },
		PortsFile: filepath.Join(t.TempDir(), "ports.json"),
		Logf: func(f string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(&logs, f+"\n", args...)
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	hostAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ask := func() (string, error) {
		c, err := net.Dial("tcp", hostAddr)
		if err != nil {
			return "", err
		}
		defer c.Close()
		return testfakes.AskLine(c, "GET")
	}
	waitFor(t, "the published port on the host's 127.0.0.1", func() bool {
		got, err := ask()
		return err == nil && got == "web:GET\n"
	})
	mu.Lock()
	running = false
	mu.Unlock()
	waitFor(t, "the port to go when the container stops", func() bool {
		_, err := ask()
		return err != nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "clock") {
		t.Errorf("the agent tried the server's clock:\n%s", logs.String())
	}
}
