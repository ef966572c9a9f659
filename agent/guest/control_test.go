//go:build linux

package guest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tenderdev/tender/agent/api"
)

// The control socket serves root only: a process of another user that
// reaches the socket (its mode opened by mistake) is refused by its
// credentials, and nothing is done.
func TestControlRefusesNonRoot(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run a client as nobody")
	}
	perl, err := exec.LookPath("perl") // perl-base: on every Debian
	if err != nil {
		t.Skip("needs perl for the client")
	}
	dir, err := os.MkdirTemp("", "ctl") // t.TempDir's parent is root's only
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.Chmod(path, 0o777); err != nil { // the mistake
		t.Fatal(err)
	}
	a := &agent{log: &logger{}, shutdownReq: make(chan string, 1)}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go a.handleControl(c)
		}
	}()
	client := `use Socket; $SIG{PIPE} = "IGNORE"; socket(S, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!\n";
connect(S, sockaddr_un($ARGV[0])) or die "connect: $!\n"; syswrite(S, "` + api.CmdPoweroff + `\n");
sysread(S, $b, 200); print $b;`
	cmd := exec.Command(perl, "-e", client, path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the client: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != api.ControlError+"only root may ask the agent (uid 65534 asked; run it with sudo)" {
		t.Errorf("nobody was answered %q", got)
	}
	select {
	case reason := <-a.shutdownReq:
		t.Errorf("nobody's poweroff was done (%s)", reason)
	default:
	}
}
