package hostagent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/provision"
)

// SSHGuest is the guest reached through tender's SSH client.
type SSHGuest struct{ C *provision.Client }

// WatchPorts implements Guest.
func (g SSHGuest) WatchPorts(ctx context.Context) (io.Reader, error) {
	pr, pw := io.Pipe()
	go func() {
		var stderr bytes.Buffer
		cmd := provision.AgentCommandLine(api.WatchPorts())
		code, err := g.C.Run(ctx, cmd, nil, pw, &stderr)
		if err == nil {
			err = fmt.Errorf("%s exited with status %d: %s", cmd, code, strings.TrimSpace(stderr.String()))
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// Clock implements Guest.
func (g SSHGuest) Clock(ctx context.Context) (time.Time, error) {
	out, err := g.C.Agent(ctx, api.Clock())
	if err != nil {
		return time.Time{}, err
	}
	return api.ParseClock(string(out))
}

// SetClock implements Guest.
func (g SSHGuest) SetClock(ctx context.Context, t time.Time) error {
	_, err := g.C.Agent(ctx, api.SetClock(t))
	return err
}

// Close implements Guest.
func (g SSHGuest) Close() error { return g.C.Close() }
