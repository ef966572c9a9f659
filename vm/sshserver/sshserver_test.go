package sshserver

import (
	"context"
	"testing"

	"github.com/tenderdev/tender/vm"
)

// A server machine is as live as its host agent: running when it is
// connected, unreachable when it is not, stopped when it does not run.
func TestState(t *testing.T) {
	for _, tc := range []struct {
		running, connected bool
		want               vm.State
	}{
		{true, true, vm.Running},
		{true, false, vm.Unreachable},
		{false, false, vm.Stopped},
		{false, true, vm.Stopped}, // a ports file left by an agent that died
	} {
		d := Driver{Agent: func(dir string) (bool, bool) {
			if dir != "/m/big" {
				t.Errorf("asked about %q", dir)
			}
			return tc.running, tc.connected
		}}
		got, err := d.State(context.Background(), vm.Spec{Dir: "/m/big"})
		if err != nil || got != tc.want {
			t.Errorf("agent running %v, connected %v: state %v, %v; want %v", tc.running, tc.connected, got, err, tc.want)
		}
	}
	if !vm.Unreachable.Live() {
		t.Error("an unreachable server is not live: down would not stop its host agent")
	}
}
