package hostagent

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/tenderdev/tender/provision"
)

// The TLS port relays a holder of a client certificate from tender's CA to
// what dial reaches; a peer without one, or with another CA's, is refused
// in the handshake and never causes a dial.
func TestServeTLS(t *testing.T) {
	ca, err := provision.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.IssueServer("test server")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := provision.ServerTLS(ca.CertPEM, server)
	if err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int32
	dial := func(context.Context) (net.Conn, error) {
		dials.Add(1)
		a, b := net.Pipe()
		go func() { // the "server's socket": echo one line with a prefix
			defer b.Close()
			line, _ := bufio.NewReader(b).ReadString('\n')
			io.WriteString(b, "docker:"+line)
		}()
		return a, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeTLS(ctx, l, cfg, dial, t.Logf) }()

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	clientTLS := func(t *testing.T, from *provision.CA) *tls.Config {
		c := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
		if from != nil {
			kp, err := from.IssueClient("test client")
			if err != nil {
				t.Fatal(err)
			}
			cert, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
			if err != nil {
				t.Fatal(err)
			}
			c.Certificates = []tls.Certificate{cert}
		}
		return c
	}

	c, err := tls.Dial("tcp", l.Addr().String(), clientTLS(t, ca))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "ping\n")
	got, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err != nil || got != "docker:ping\n" {
		t.Errorf("through the relay: %q, %v; want %q", got, err, "docker:ping\n")
	}

	other, err := provision.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	for name, from := range map[string]*provision.CA{"no client certificate": nil, "another CA's certificate": other} {
		before := dials.Load()
		c, err := tls.Dial("tcp", l.Addr().String(), clientTLS(t, from))
		if err == nil {
			// TLS 1.3: the server's verdict on the client arrives with
			// the first read.
			_, err = bufio.NewReader(c).ReadString('\n')
			c.Close()
		}
		if err == nil {
			t.Errorf("%s: the relay answered", name)
		}
		if dials.Load() != before {
			t.Errorf("%s: the relay dialled the server for a peer it refused", name)
		}
	}

	cancel()
	if err := <-served; err != nil {
		t.Errorf("ServeTLS after cancel = %v", err)
	}
	if dials.Load() != 1 {
		t.Errorf("%d dials, want 1", dials.Load())
	}
}

// ServeTLS refuses a config that would let a peer in without a certificate.
func TestServeTLSNeedsClientCerts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := ServeTLS(context.Background(), l, &tls.Config{}, nil, t.Logf); err == nil {
		t.Error("ServeTLS accepted a config without RequireAndVerifyClientCert")
	}
}
