//go:build linux

package hostagent

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// docker.sock gives what tender's client certificate gives, so it is the
// user's only: another user (nobody) is refused by the socket's mode even
// where the directory lets it through.
func TestServeSocketRefusesAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run a client as nobody")
	}
	perl, err := exec.LookPath("perl") // perl-base: on every Debian
	if err != nil {
		t.Skip("needs perl for the client")
	}
	dir, err := os.MkdirTemp("", "sock")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // the machine directory is 0700; here only the socket's mode stands
		t.Fatal(err)
	}
	path := filepath.Join(dir, "docker.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dialed := make(chan struct{}, 1)
	go ServeSocket(ctx, path, func(context.Context) (net.Conn, error) {
		dialed <- struct{}{}
		return nil, errors.New("no docker here")
	}, t.Logf)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() == 0o600 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("docker.sock: %v %v", fi, err)
		}
	}
	cmd := exec.Command(perl, "-e", `use Socket; socket(S, PF_UNIX, SOCK_STREAM, 0) or die; connect(S, sockaddr_un($ARGV[0])) or die "connect: $!\n"; print "connected\n"`, path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "connect: Permission denied") {
		t.Errorf("nobody connecting to docker.sock: %v %q", err, out)
	}
	select {
	case <-dialed:
		t.Error("nobody's connection reached Docker")
	default:
	}
}
