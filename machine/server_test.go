//go:build unix

package machine

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/vm"
	"github.com/tenderdev/tender/vm/sshserver"
)

// fakeServer is an SSH server (in the test process) whose user alice has a
// Docker: a unix socket in her runtime directory, where rootless Docker's
// is, answering /_ping and /version.
type fakeServer struct {
	ssh  *testfakes.SSHServer
	key  string // alice's private key file
	host string // alice@127.0.0.1
	port string
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	if _, err := os.Stat("/var/run/docker.sock"); err == nil {
		t.Skip("this host has a Docker socket at /var/run/docker.sock, which the fake server would offer first")
	}
	s := testfakes.NewSSHServer(t, "alice")
	run, err := os.MkdirTemp("", "srv") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	l, err := net.Listen("unix", filepath.Join(run, "docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	docker := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/_ping":
			w.Write([]byte("OK"))
		case "/containers/json":
			w.Write([]byte("[]"))
		case "/version":
			w.Write([]byte(`{"Version":"the server's"}`))
		default:
			http.NotFound(w, r)
		}
	})}
	go docker.Serve(l)
	t.Cleanup(func() { docker.Close() })
	s.Env = []string{"XDG_RUNTIME_DIR=" + run}
	key := filepath.Join(t.TempDir(), "id_alice")
	if err := os.WriteFile(key, s.UserKey, 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(s.Addr)
	return &fakeServer{ssh: s, key: key, host: "alice@127.0.0.1", port: port}
}

// layer is what `tender init --driver ssh` gives for the server, with
// hostKey as --ssh-host-key ("" for none).
func (f *fakeServer) layer(t *testing.T, key, hostKey string) config.Layer {
	t.Helper()
	var l config.Layer
	for k, v := range map[string]string{config.KeyDriver: config.DriverSSH, config.KeySSHHost: f.host, config.KeySSHPort: f.port, config.KeySSHKey: key} {
		if err := l.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if hostKey != "" {
		l.SSHHostKey = &hostKey
	}
	return l
}

func serverStore(t *testing.T) *Store {
	s := newStore(t, &testfakes.Driver{})
	s.Drivers = func(c config.Settings) (vm.Driver, error) {
		if c.Driver != config.DriverSSH {
			t.Fatalf("driver %q asked for", c.Driver)
		}
		return sshserver.Driver{Agent: HostAgentStatus}, nil
	}
	return s
}

// init --driver ssh refuses, in one line and leaving nothing, a host key
// that is not confirmed or not the server's, and a key the server does not
// take; with the right ones it makes a machine of certificates and the
// pinned host key, with no disk, that is stopped.
func TestInitServer(t *testing.T) {
	f := newFakeServer(t)
	s := serverStore(t)
	ctx := context.Background()
	fp := ssh.FingerprintSHA256(f.ssh.HostKey)
	other := filepath.Join(t.TempDir(), "id_other")
	if err := os.WriteFile(other, testfakes.NewSSHServer(t, "bob").UserKey, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		layer config.Layer
		want  []string
	}{
		{"no host key, no one to ask", f.layer(t, f.key, ""), []string{fp, "--ssh-host-key " + fp}},
		{"another host key", f.layer(t, f.key, "SHA256:"+strings.Repeat("A", 43)), []string{"host key mismatch", fp}},
		{"a key the server does not take", f.layer(t, other, fp), []string{"refused the key " + other + " for user alice", "authorized_keys"}},
		{"a key file that is not there", f.layer(t, other+".gone", fp), []string{"the SSH key (--ssh-key)", "no such file"}},
	} {
		_, err := s.Init(ctx, "big", tc.layer)
		if err == nil {
			t.Fatalf("%s: init succeeded", tc.name)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v\nwant it to say %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: the error is more than one line: %q", tc.name, err)
		}
		if entries, _ := os.ReadDir(filepath.Join(s.Home, MachinesDir)); len(entries) > 0 {
			t.Fatalf("%s: a refused init left %v", tc.name, entries)
		}
	}

	// Asked on the terminal: no is a refusal, yes pins the key.
	var asked string
	s.Confirm = func(q string) (bool, error) { asked = q; return false, nil }
	if _, err := s.Init(ctx, "big", f.layer(t, f.key, "")); err == nil || !strings.Contains(asked, fp) {
		t.Fatalf("init with the host key refused on the terminal: %v (asked %q)", err, asked)
	}
	s.Confirm = func(string) (bool, error) { return true, nil }
	m, err := s.Init(ctx, "big", f.layer(t, f.key, ""))
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := m.GuestHostKey()
	if err != nil || !bytes.Equal(pinned.Marshal(), f.ssh.HostKey.Marshal()) {
		t.Errorf("the pinned host key is not the server's: %v", err)
	}
	if m.Settings.SSHHostKey != fp || m.Settings.SSHPort != atoi(f.port) || m.ServerUser() != "alice" {
		t.Errorf("settings: ssh_host_key %q, ssh_port %d, user %q", m.Settings.SSHHostKey, m.Settings.SSHPort, m.ServerUser())
	}
	for _, name := range []string{DiskFile, SSHKey, GuestHostPrivKey} {
		if _, err := os.Stat(filepath.Join(m.Dir, name)); err == nil {
			t.Errorf("a server machine has %s", name)
		}
	}
	for _, name := range []string{filepath.Join(ClientCerts, ClientKey), ServerKey} {
		if fi, err := os.Stat(filepath.Join(m.Dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want 0600", name, fi, err)
		}
	}
	if st, err := s.Status(ctx, "big"); err != nil || st.State != Stopped {
		t.Errorf("status after init = %v, %v; want stopped", st.State, err)
	}
	// The verbs that have no meaning for a server say so.
	for verb, err := range map[string]error{
		"save":     s.Save(ctx, "big", false),
		"reset":    s.Reset(ctx, "big"),
		"poweroff": s.Poweroff(ctx, "big"),
	} {
		if err == nil || !strings.Contains(err.Error(), verb+` does not apply to machine "big"`) {
			t.Errorf("%s: %v", verb, err)
		}
	}
	if _, err := s.Upgrade(ctx, "big", ""); err == nil || !strings.Contains(err.Error(), "upgrade does not apply") {
		t.Errorf("upgrade: %v", err)
	}
}

// The host agent of a server offers its Docker on the 127.0.0.1 TLS port,
// to tender's client certificate only, and on docker.sock, through SSH.
func TestServerHostAgent(t *testing.T) {
	f := newFakeServer(t)
	s := serverStore(t)
	s.Confirm = func(string) (bool, error) { return true, nil }
	if _, err := s.Init(context.Background(), "big", f.layer(t, f.key, "")); err != nil {
		t.Fatal(err)
	}
	port := testfakes.FreeTCPPort(t)
	dir := s.Dir("big")
	if err := writeRuntime(dir, Runtime{Driver: config.DriverSSH, DockerPort: port}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var log bytes.Buffer
	go func() { done <- s.RunHostAgent(ctx, "big", &syncWriter{w: &log}) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("the host agent: %v", err)
			}
		}
	}
	defer stop()
	m, err := s.Load("big", config.Layer{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.pingDockerUntil(ctx, 10*time.Second); err != nil {
		t.Fatalf("docker through the TLS port: %v", err)
	}
	if err := tlsPing(port, &tls.Config{InsecureSkipVerify: true}); err == nil {
		t.Error("the TLS port answered a client without tender's certificate")
	}
	c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", m.SocketPath())
	}}}
	resp, err := c.Get("http://docker/version")
	if err != nil {
		t.Fatalf("docker.sock: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"Version":"the server's"}` {
		t.Errorf("docker.sock /version = %q", body)
	}
	// Once the agent is stopped, nothing of it listens.
	c.CloseIdleConnections()
	stop()
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
		conn.Close()
		t.Error("the TLS port still answers after the host agent stopped")
	}
	if _, err := os.Stat(m.SocketPath()); err == nil {
		t.Error("docker.sock is still there after the host agent stopped")
	}
}

func tlsPing(port int, cfg *tls.Config) error {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := c.Get("https://127.0.0.1:" + strconv.Itoa(port) + "/_ping")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// syncWriter lets the host agent's goroutines log into one buffer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
