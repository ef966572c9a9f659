// Package guest is the agent as PID 1 of the real root: it sets the machine
// up, runs sshd and dockerd, and shuts down cleanly on the power button.
package guest

import (
	"errors"
	"io"
)

// Run runs the guest until power-off. It returns only on failure.
func Run(version string) error {
	return errors.New("guest stage: not built yet")
}

// Client handles `tender-agent COMMAND` run by a user inside the guest.
func Client(version string, args []string, stdout io.Writer) error {
	return errors.New("client: not built yet")
}
