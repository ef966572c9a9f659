package provision

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestMutualTLS shows the certs work together: a server cert from the CA is
// accepted for 127.0.0.1, a client cert from the CA is accepted by a server
// that requires one, and a client cert from another CA is refused.
func TestMutualTLS(t *testing.T) {
	ca, err := NewCA("tender CA")
	if err != nil {
		t.Fatal(err)
	}
	reloaded, err := LoadCA(ca.KeyPair)
	if err != nil {
		t.Fatal(err)
	}
	server, err := reloaded.IssueServer("tender-default", "10.0.2.15")
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.IssueClient("tender client")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewCA("other CA")
	stranger, _ := other.IssueClient("stranger")

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	srvCert, err := tls.X509KeyPair(server.CertPEM, server.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) { _ = c.(*tls.Conn).Handshake(); _, _ = c.Write([]byte("ok")); c.Close() }(c)
		}
	}()

	dial := func(kp KeyPair) error {
		cert, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
		if err != nil {
			return err
		}
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "127.0.0.1"})
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 2)
		_, err = c.Read(buf)
		return err
	}
	if err := dial(client); err != nil {
		t.Fatalf("client signed by the CA was refused: %v", err)
	}
	if err := dial(stranger); err == nil {
		t.Fatal("client signed by another CA was accepted")
	}
}

func TestNewSSHKey(t *testing.T) {
	k, err := NewSSHKey("docker@tender")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(k.PrivatePEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, comment, _, _, err := ssh.ParseAuthorizedKey(k.Public)
	if err != nil {
		t.Fatal(err)
	}
	if comment != "docker@tender" || !strings.HasSuffix(string(k.Public), "\n") {
		t.Fatalf("public line %q: want comment docker@tender and a final newline", k.Public)
	}
	if string(pub.Marshal()) != string(signer.PublicKey().Marshal()) {
		t.Fatal("public line does not match the private key")
	}
}
