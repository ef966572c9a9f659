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
)

// ControlSocket is where PID 1 takes requests from `tender-agent COMMAND`.
// It is root's only (0600): the host runs the client with sudo.
const ControlSocket = "/run/tender/agent.sock"

// The control protocol: the client sends one command line; the agent
// answers with lines, the last one "ok" or "error: …".
const (
	cmdRestartDocker = "restart-docker"
	cmdPoweroff      = "poweroff"
)

// serveControl answers requests until ctx ends.
func (a *agent) serveControl(ctx context.Context) error {
	_ = os.MkdirAll("/run/tender", 0o755)
	_ = os.Remove(ControlSocket)
	l, err := net.Listen("unix", ControlSocket)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", ControlSocket, err)
	}
	if err := os.Chmod(ControlSocket, 0o600); err != nil {
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
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	cmd := strings.TrimSpace(line)
	a.log.Logf("control: %s", cmd)
	switch cmd {
	case cmdRestartDocker:
		if err := a.restartDocker(); err != nil {
			fmt.Fprintf(c, "error: %v\n", err)
			return
		}
		fmt.Fprintln(c, "ok")
	case cmdPoweroff:
		fmt.Fprintln(c, "ok")
		a.requestShutdown("tender-agent poweroff")
	default:
		fmt.Fprintf(c, "error: unknown command %q\n", cmd)
	}
}

// Client handles `tender-agent COMMAND` run by a user inside the guest.
func Client(version string, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: tender-agent restart-docker | poweroff | version")
	}
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, version)
		return nil
	case cmdRestartDocker, cmdPoweroff:
		return request(args[0], stdout)
	}
	return fmt.Errorf("unknown command %q (want restart-docker, poweroff or version)", args[0])
}

func request(cmd string, stdout io.Writer) error {
	c, err := net.DialTimeout("unix", ControlSocket, 5*time.Second)
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
		if last != "ok" && !strings.HasPrefix(last, "error: ") {
			fmt.Fprintln(stdout, last)
		}
	}
	switch {
	case last == "ok":
		return nil
	case strings.HasPrefix(last, "error: "):
		return errors.New(strings.TrimPrefix(last, "error: "))
	}
	return fmt.Errorf("%s: the agent closed the connection without an answer", cmd)
}
