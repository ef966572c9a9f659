package machine

import (
	"context"
	"io"

	"github.com/tenderdev/tender/agent/api"
)

// AgentLog prints the running guest's agent.log (api.AgentLog) to stdout,
// and with follow keeps printing what is appended until ctx ends. It
// returns the remote command's exit status.
func (m *Machine) AgentLog(ctx context.Context, follow bool, stdout, stderr io.Writer) (int, error) {
	if err := refuseServer(m, "logs --agent", "runs no tender agent (`tender logs"+NameArg(m.Name)+"` prints the host agent's log)"); err != nil {
		return -1, err
	}
	client, err := m.Dial(ctx)
	if err != nil {
		return -1, err
	}
	defer client.Close()
	cmd := "cat " + api.AgentLog
	if follow {
		cmd = "tail -f " + api.AgentLog
	}
	return client.Run(ctx, cmd, nil, stdout, stderr)
}
