package testfakes

import (
	"context"

	"github.com/tenderdev/tender/vm"
)

// Driver is a vm.Driver whose machines never run: nothing is booted and
// nothing is written. It records each call in Calls, as "create NAME",
// "start ISO", "stop" and "delete"; Create returns CreateErr; State reports
// Current for every machine, vm.Stopped while Current is empty, or fails
// with StateErr when that is set. With
// Transitions set, Start leaves Current vm.Running and Stop leaves it
// vm.Stopped; without, only the test changes Current.
//
// Driver has none of vm's optional abilities (vm.Saver, vm.Forwarder, …),
// which callers find by type assertion: a test that needs one declares a
// type of its own that embeds Driver and adds it, so that a driver that
// cannot save never claims to.
//
// A Driver is not safe for concurrent use.
type Driver struct {
	Calls       []string
	CreateErr   error
	Current     vm.State
	Transitions bool
	StateErr    error // when set, State fails with it (a hypervisor that does not answer)
}

var _ vm.Driver = (*Driver)(nil)

func (d *Driver) Name() string { return "fake" }

func (d *Driver) Create(ctx context.Context, s vm.Spec) error {
	d.Calls = append(d.Calls, "create "+s.Name)
	return d.CreateErr
}

func (d *Driver) Start(ctx context.Context, s vm.Spec) error {
	d.Calls = append(d.Calls, "start "+s.ISO)
	if d.Transitions {
		d.Current = vm.Running
	}
	return nil
}

func (d *Driver) Stop(ctx context.Context, s vm.Spec, force bool) error {
	d.Calls = append(d.Calls, "stop")
	if d.Transitions {
		d.Current = vm.Stopped
	}
	return nil
}

func (d *Driver) Delete(ctx context.Context, s vm.Spec) error {
	d.Calls = append(d.Calls, "delete")
	return nil
}

func (d *Driver) State(ctx context.Context, s vm.Spec) (vm.State, error) {
	if d.StateErr != nil {
		return "", d.StateErr
	}
	if d.Current == "" {
		return vm.Stopped, nil
	}
	return d.Current, nil
}
