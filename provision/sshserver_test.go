package provision

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// testServer is a real SSH server in the test process standing in for the
// guest's sshd: public-key auth for one key, "exec" and "shell" run sh
// locally, and the "sftp" subsystem serves the local filesystem with Home as
// its working directory (where relative paths land, as with OpenSSH).
type testServer struct {
	Addr    string
	HostKey ssh.PublicKey // what the client must pin
	UserKey []byte        // OpenSSH private key the server accepts
	Home    string
	Env     []string // extra environment for exec and shell

	mu   sync.Mutex
	ptys []string // TERM of each pty-req
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	hostKey, err := NewSSHKey("host")
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.ParsePrivateKey(hostKey.PrivatePEM)
	if err != nil {
		t.Fatal(err)
	}
	userKey, err := NewSSHKey("docker@test")
	if err != nil {
		t.Fatal(err)
	}
	authorized, _, _, _, err := ssh.ParseAuthorizedKey(userKey.Public)
	if err != nil {
		t.Fatal(err)
	}
	config := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() == GuestUser && bytes.Equal(key.Marshal(), authorized.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	config.AddHostKey(hostSigner)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{
		Addr:    ln.Addr().String(),
		HostKey: hostSigner.PublicKey(),
		UserKey: userKey.PrivatePEM,
		Home:    t.TempDir(),
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serveConn(c, config)
			}()
		}
	}()
	return s
}

func (s *testServer) serveConn(c net.Conn, config *ssh.ServerConfig) {
	defer c.Close()
	conn, chans, reqs, err := ssh.NewServerConn(c, config)
	if err != nil {
		return
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveSession(ch, chReqs)
		}()
	}
	wg.Wait()
}

func (s *testServer) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		switch req.Type {
		case "pty-req":
			var pty struct {
				Term          string
				Cols, Rows    uint32
				Width, Height uint32
				Modes         string
			}
			ok := ssh.Unmarshal(req.Payload, &pty) == nil
			s.mu.Lock()
			s.ptys = append(s.ptys, pty.Term)
			s.mu.Unlock()
			req.Reply(ok, nil)
		case "env", "window-change":
			req.Reply(true, nil)
		case "exec", "shell":
			var cmd struct{ Command string }
			if req.Type == "exec" {
				if err := ssh.Unmarshal(req.Payload, &cmd); err != nil {
					req.Reply(false, nil)
					return
				}
			}
			req.Reply(true, nil)
			go ssh.DiscardRequests(reqs)
			s.run(ch, cmd.Command)
			return
		case "subsystem":
			var sub struct{ Name string }
			if ssh.Unmarshal(req.Payload, &sub) != nil || sub.Name != "sftp" {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			go ssh.DiscardRequests(reqs)
			srv, err := sftp.NewServer(ch, sftp.WithServerWorkingDirectory(s.Home))
			if err != nil {
				return
			}
			srv.Serve()
			srv.Close()
			return
		default:
			req.Reply(false, nil)
		}
	}
}

// run runs command (a shell reading stdin when empty) and sends its exit
// status.
func (s *testServer) run(ch ssh.Channel, command string) {
	cmd := exec.Command("sh")
	if command != "" {
		cmd = exec.Command("sh", "-c", command)
	}
	cmd.Dir = s.Home
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return
	}
	if err := cmd.Start(); err != nil {
		io.WriteString(ch.Stderr(), err.Error())
		ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{127}))
		return
	}
	// Not waited for: a command need not read all its input.
	go func() {
		io.Copy(stdin, ch)
		stdin.Close()
	}()
	status := 0
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return // no exit-status: the client sees ExitMissingError
		}
		status = exit.ExitCode()
	}
	ch.CloseWrite()
	ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
}

// dial connects to s as the docker user with the right keys.
func (s *testServer) dial(t *testing.T) *Client {
	t.Helper()
	c, err := Dial(t.Context(), s.Addr, GuestUser, s.UserKey, s.HostKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
