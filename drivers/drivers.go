// Package drivers chooses a machine's hypervisor driver from its settings.
package drivers

import (
	"fmt"
	"io"
	"time"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/machine"
	"github.com/tenderdev/tender/runner"
	"github.com/tenderdev/tender/vm"
	"github.com/tenderdev/tender/vm/qemu"
)

// Factory returns the machine store's driver factory. verbose echoes every
// external command to log.
func Factory(verbose bool, log io.Writer) machine.DriverFactory {
	run := runner.Exec{Timeout: 2 * time.Minute}
	if verbose {
		run.Verbose = log
	}
	return func(s config.Settings) (vm.Driver, error) {
		switch s.Driver {
		case "auto", "qemu", "":
			d := qemu.New(run)
			accel, err := qemu.ParseAccel(s.Accel)
			if err != nil {
				return nil, err
			}
			d.Accel = accel
			return d, nil
		default:
			return nil, fmt.Errorf("driver %q is not available yet: use --driver qemu", s.Driver)
		}
	}
}
