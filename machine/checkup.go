package machine

import (
	"context"
	"fmt"
	"time"

	"github.com/tenderdev/tender/hostagent"
	"github.com/tenderdev/tender/vm"
)

// ClockOffset is how far the running guest's clock is from the host's
// (positive: the guest is ahead), as its agent reads it over SSH.
func (m *Machine) ClockOffset(ctx context.Context) (time.Duration, error) {
	c, err := m.Dial(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	before := time.Now()
	t, err := hostagent.SSHGuest{C: c}.Clock(ctx)
	if err != nil {
		return 0, err
	}
	// The guest read its clock somewhere in the round trip: its middle.
	mid := before.Add(time.Since(before) / 2)
	return t.Sub(mid), nil
}

// TakenPinnedPorts lists the ports pinned in the machine's settings
// (ssh_port, docker_port) that another program holds while the machine is
// not live, so that its next up would refuse.
func (m *Machine) TakenPinnedPorts(st vm.State) []string {
	if st.Live() || m.IsServer() {
		return nil
	}
	var out []string
	for _, p := range []struct {
		key  string
		port int
	}{{"ssh_port", m.Settings.SSHPort}, {"docker_port", m.Settings.DockerPort}} {
		if p.port != 0 && !portFree(p.port) {
			out = append(out, fmt.Sprintf("%s %d", p.key, p.port))
		}
	}
	return out
}
