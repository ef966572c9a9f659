// Package sshserver is the driver of machines that are servers tender does
// not run (driver ssh): Linux servers with Docker, reached over SSH. There
// is no hypervisor, so it creates, starts and stops nothing. What makes
// such a machine live is its host agent, which holds the one SSH
// connection to the server; the machine package starts and stops it.
package sshserver

import (
	"context"

	"github.com/tenderdev/tender/vm"
)

// Name is the driver's name, the value of the driver setting.
const Name = "ssh"

// Driver reports a server machine's state from its host agent.
type Driver struct {
	// Agent tells, from the machine directory, whether the machine's host
	// agent runs and whether it is connected to the server's Docker.
	Agent func(dir string) (running, connected bool)
}

// Name implements vm.Driver.
func (Driver) Name() string { return Name }

// Create implements vm.Driver: a server exists already.
func (Driver) Create(context.Context, vm.Spec) error { return nil }

// Start implements vm.Driver: a server runs already; the host agent that
// connects to it is the machine package's to start.
func (Driver) Start(context.Context, vm.Spec) error { return nil }

// Stop implements vm.Driver: tender never stops a server.
func (Driver) Stop(context.Context, vm.Spec, bool) error { return nil }

// Delete implements vm.Driver: nothing was registered anywhere.
func (Driver) Delete(context.Context, vm.Spec) error { return nil }

// State implements vm.Driver: running while the host agent is connected,
// unreachable while it runs but cannot reach the server (or its Docker),
// stopped when it does not run. It reads two files.
func (d Driver) State(_ context.Context, s vm.Spec) (vm.State, error) {
	running, connected := d.Agent(s.Dir)
	switch {
	case running && connected:
		return vm.Running, nil
	case running:
		return vm.Unreachable, nil
	}
	return vm.Stopped, nil
}
