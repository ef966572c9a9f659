package hostagent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A client of the socket talks to what dial reaches, both ways and with a
// half-close passed on; the socket is the user's only, replaces a stale one,
// refuses to replace a live one or another file, and goes away at the end.
func TestServeSocket(t *testing.T) {
	upstream, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer upstream.Close()
	go func() {
		for {
			c, err := upstream.Accept()
			if err != nil {
				return
			}
			go func() { // echo with a prefix, line by line, until EOF; then "bye"
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					io.WriteString(c, "up:"+sc.Text()+"\n")
				}
				io.WriteString(c, "bye\n")
			}()
		}
	}()
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", upstream.Addr().String())
	}

	dir, err := os.MkdirTemp("", "sock") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "docker.sock")
	// A stale socket, as a killed agent leaves it.
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeSocket(ctx, path, dial, t.Logf) }()
	var c net.Conn
	for i := 0; ; i++ {
		if c, err = net.Dial("unix", path); err == nil {
			break
		}
		if i > 200 {
			t.Fatalf("the socket never answered: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	io.WriteString(c, "ping\n")
	c.(*net.UnixConn).CloseWrite()
	got, _ := io.ReadAll(c)
	c.Close()
	if string(got) != "up:ping\nbye\n" {
		t.Errorf("through the socket: %q", got)
	}

	if err := ServeSocket(context.Background(), path, dial, t.Logf); err == nil || !strings.Contains(err.Error(), "already served") {
		t.Errorf("a second server on a live socket: %v", err)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("the socket is still there after the agent stopped: %v", err)
	}

	plain := filepath.Join(dir, "file")
	os.WriteFile(plain, []byte("x"), 0o600)
	if err := ServeSocket(context.Background(), plain, dial, t.Logf); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("over a plain file: %v", err)
	}
	if err := ServeSocket(context.Background(), "/"+strings.Repeat("x", 200), dial, t.Logf); err == nil || !strings.Contains(err.Error(), "TENDER_HOME") {
		t.Errorf("a too long path: %v", err)
	}
}

// When the machine's Docker cannot be reached, a Docker client is told why
// in the Docker API's own error form, which the docker CLI prints as one
// line ("Error response from daemon: …").
func TestServeSocketSaysWhyDockerIsUnreachable(t *testing.T) {
	dir, err := os.MkdirTemp("", "sock")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "docker.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ServeSocket(ctx, path, func(context.Context) (net.Conn, error) {
		return nil, errors.New("not connected to the server build.example.com")
	}, t.Logf)
	client := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	var resp *http.Response
	for deadline := time.Now().Add(5 * time.Second); ; {
		if resp, err = client.Get("http://docker/v1.45/containers/json"); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Message string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadGateway || body.Message != "tender: the machine's Docker cannot be reached: not connected to the server build.example.com" {
		t.Errorf("got %s %q", resp.Status, body.Message)
	}
}
