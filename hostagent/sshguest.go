package hostagent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tenderdev/tender/agent/clock"
	"github.com/tenderdev/tender/provision"
)

// agentPath is the guest agent's client in the guest: /usr/sbin is not on
// an SSH session's PATH for the docker user.
const agentPath = "/usr/sbin/tender-agent"

// SSHGuest is the guest reached through tender's SSH client.
type SSHGuest struct{ C *provision.Client }

// WatchPorts implements Guest.
func (g SSHGuest) WatchPorts(ctx context.Context) (io.Reader, error) {
	pr, pw := io.Pipe()
	go func() {
		var stderr bytes.Buffer
		code, err := g.C.Run(ctx, agentPath+" watch-ports", nil, pw, &stderr)
		if err == nil {
			err = fmt.Errorf("%s watch-ports exited with status %d: %s", agentPath, code, strings.TrimSpace(stderr.String()))
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// Clock implements Guest.
func (g SSHGuest) Clock(ctx context.Context) (time.Time, error) {
	out, err := g.C.Output(ctx, agentPath+" clock")
	if err != nil {
		return time.Time{}, err
	}
	return clock.Parse(string(out))
}

// SetClock implements Guest.
func (g SSHGuest) SetClock(ctx context.Context, t time.Time) error {
	_, err := g.C.Output(ctx, "sudo -n "+agentPath+" set-clock "+clock.Format(t))
	return err
}

// Close implements Guest.
func (g SSHGuest) Close() error { return g.C.Close() }
