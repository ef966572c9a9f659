//go:build unix

package testfakes

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// SSHServer is a real SSH server in the test process standing in for the
// guest's sshd, or a server's: public-key auth for one key and user, "exec" and "shell" run sh
// locally, and the "sftp" subsystem serves the local filesystem with Home as
// its working directory (where relative paths land, as with OpenSSH).
type SSHServer struct {
	Addr    string
	HostKey ssh.PublicKey // what the client must pin
	User    string        // the one user it lets in
	UserKey []byte        // OpenSSH private key the server accepts
	Home    string
	Env     []string // extra environment for exec and shell
	// LoopbackAs is the address direct-tcpip connections to 127.0.0.1 go
	// to ("" for 127.0.0.1 itself).
	LoopbackAs string
	// Paths maps absolute guest paths in commands to local files, as the
	// guest's filesystem would hold them (the agent at api.AgentPath).
	Paths map[string]string

	mu   sync.Mutex
	ptys []string // TERM of each pty-req
}

// NewSSHServer starts an SSHServer on 127.0.0.1 that lets user in with a
// key of its own (UserKey), until the test ends.
func NewSSHServer(t *testing.T, user string) *SSHServer {
	t.Helper()
	hostSigner, _ := newKey(t)
	userSigner, userPEM := newKey(t)
	authorized := userSigner.PublicKey()
	config := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() == user && bytes.Equal(key.Marshal(), authorized.Marshal()) {
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
	s := &SSHServer{
		Addr:    ln.Addr().String(),
		HostKey: hostSigner.PublicKey(),
		User:    user,
		UserKey: userPEM,
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

func (s *SSHServer) serveConn(c net.Conn, config *ssh.ServerConfig) {
	defer c.Close()
	conn, chans, reqs, err := ssh.NewServerConn(c, config)
	if err != nil {
		return
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() == "direct-tcpip" {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serveDirectTCP(nc)
			}()
			continue
		}
		if nc.ChannelType() == "direct-streamlocal@openssh.com" {
			wg.Add(1)
			go func() {
				defer wg.Done()
				serveStreamLocal(nc)
			}()
			continue
		}
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions and unix sockets")
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

// serveDirectTCP joins a direct-tcpip channel (ssh -L to host:port, what
// Client.DialRemote opens for "tcp") to that address, with 127.0.0.1
// standing for LoopbackAs when it is set: a test's "server" loopback that
// is not the host's own 127.0.0.1, so the same port can be on both.
func (s *SSHServer) serveDirectTCP(nc ssh.NewChannel) {
	var req struct {
		Host       string
		Port       uint32
		OriginHost string
		OriginPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &req); err != nil {
		nc.Reject(ssh.ConnectionFailed, "bad request")
		return
	}
	if req.Host == "127.0.0.1" && s.LoopbackAs != "" {
		req.Host = s.LoopbackAs
	}
	c, err := net.Dial("tcp", net.JoinHostPort(req.Host, strconv.Itoa(int(req.Port))))
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	joinChannel(nc, c.(*net.TCPConn))
}

// serveStreamLocal joins a direct-streamlocal channel (ssh -L to a unix
// socket, what Client.DialRemote opens for "unix") to the local socket it names.
func serveStreamLocal(nc ssh.NewChannel) {
	var req struct {
		SocketPath string
		Reserved0  string
		Reserved1  uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &req); err != nil {
		nc.Reject(ssh.ConnectionFailed, "bad request")
		return
	}
	sock, err := net.Dial("unix", req.SocketPath)
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	joinChannel(nc, sock.(*net.UnixConn))
}

// joinChannel accepts nc and copies between it and c both ways, passing
// half-closes on.
func joinChannel(nc ssh.NewChannel, c interface {
	net.Conn
	CloseWrite() error
}) {
	defer c.Close()
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	go ssh.DiscardRequests(reqs)
	done := make(chan struct{})
	go func() {
		io.Copy(c, ch)
		c.CloseWrite()
		close(done)
	}()
	io.Copy(ch, c)
	ch.CloseWrite()
	<-done
}

func (s *SSHServer) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
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
			s.run(ch, reqs, cmd.Command)
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

// NoStatusCommand makes the server end the session without an exit
// status, which RFC 4254 allows.
const NoStatusCommand = "tender-test-no-status"

// run runs command (a shell reading stdin when empty) and reports how it
// ended as OpenSSH does: exit-status, or exit-signal when a signal killed it.
// A "signal" request kills the command.
func (s *SSHServer) run(ch ssh.Channel, reqs <-chan *ssh.Request, command string) {
	if command == NoStatusCommand {
		go ssh.DiscardRequests(reqs)
		return
	}
	for guest, local := range s.Paths {
		command = strings.ReplaceAll(command, guest, local)
	}
	cmd := exec.Command("sh")
	if command != "" {
		cmd = exec.Command("sh", "-c", command)
	}
	cmd.Dir = s.Home
	// A group of its own, so that killing the command kills its children
	// too, as closing a session does in the guest.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	kill := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
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
	go func() {
		for req := range reqs {
			if req.Type == "signal" {
				kill()
			}
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
		// The client closed the channel: nobody waits for the command.
		kill()
	}()
	// Not waited for: a command need not read all its input.
	go func() {
		io.Copy(stdin, ch)
		stdin.Close()
	}()
	err = cmd.Wait()
	ch.CloseWrite()
	var exit *exec.ExitError
	switch {
	case err == nil:
		ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(exit.ExitCode())}))
	default:
		ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{Signal: "KILL"}))
	}
}

// PTYs lists the TERM of every pty the server was asked for.
func (s *SSHServer) PTYs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ptys...)
}

// newKey makes an ed25519 key: its signer and its OpenSSH PEM.
func newKey(t *testing.T) (ssh.Signer, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, pem.EncodeToMemory(block)
}
