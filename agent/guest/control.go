//go:build linux

package guest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tenderdev/tender/agent/api"
)

// The control socket (api.api.ControlSocket) takes requests from
// `tender-agent COMMAND` for the commands PID 1 serves (api.Command.PID1).
// It is root's only (0600): the host runs the client with sudo.

// serveControl answers requests until ctx ends.
func (a *agent) serveControl(ctx context.Context) error {
	_ = os.MkdirAll("/run/tender", 0o755)
	_ = os.Remove(api.ControlSocket)
	l, err := net.Listen("unix", api.ControlSocket)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", api.ControlSocket, err)
	}
	if err := os.Chmod(api.ControlSocket, 0o600); err != nil {
		l.Close()
		return err
	}
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go a.handleControl(c)
		}
	}()
	return nil
}

func (a *agent) handleControl(c net.Conn) {
	defer c.Close()
	// The socket's mode lets only root connect; the peer's credentials
	// are checked too, so that a mode changed by mistake (or a socket
	// file passed on) lets no one else power the machine off.
	if err := rootPeer(c); err != nil {
		a.log.Printf("control: refused: %v", err)
		fmt.Fprintf(c, "%s%v\n", api.ControlError, err)
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	cmd := strings.TrimSpace(line)
	a.log.Logf("control: %s", cmd)
	switch cmd {
	case api.CmdRestartDocker:
		if err := a.restartDocker(); err != nil {
			fmt.Fprintf(c, "%s%v\n", api.ControlError, err)
			return
		}
		fmt.Fprintln(c, api.ControlOK)
	case api.CmdPoweroff:
		fmt.Fprintln(c, api.ControlOK)
		a.requestShutdown("tender-agent poweroff")
	default:
		fmt.Fprintf(c, "%sunknown command %q\n", api.ControlError, cmd)
	}
}

// rootPeer accepts a connection from a process of root's only, as the
// kernel reports its peer (SO_PEERCRED).
func rootPeer(c net.Conn) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return errors.New("not a unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if credErr != nil {
		return fmt.Errorf("reading the peer's credentials: %w", credErr)
	}
	if cred.Uid != 0 {
		return fmt.Errorf("only root may ask the agent (uid %d asked; run it with sudo)", cred.Uid)
	}
	return nil
}

// Request sends cmd, one of the commands PID 1 serves, over the control
// socket and copies PID 1's progress lines to stdout.
func Request(cmd string, stdout io.Writer) error {
	return request(cmd, stdout)
}

func request(cmd string, stdout io.Writer) error {
	c, err := net.DialTimeout("unix", api.ControlSocket, 5*time.Second)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("connecting to the agent: %w (run it with sudo)", err)
		}
		return fmt.Errorf("connecting to the agent: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Minute))
	if _, err := fmt.Fprintln(c, cmd); err != nil {
		return fmt.Errorf("sending %s: %w", cmd, err)
	}
	sc := bufio.NewScanner(c)
	last := ""
	for sc.Scan() {
		last = sc.Text()
		if last != api.ControlOK && !strings.HasPrefix(last, api.ControlError) {
			fmt.Fprintln(stdout, last)
		}
	}
	switch {
	case last == api.ControlOK:
		return nil
	case strings.HasPrefix(last, api.ControlError):
		return errors.New(strings.TrimPrefix(last, api.ControlError))
	}
	return fmt.Errorf("%s: the agent closed the connection without an answer", cmd)
}
