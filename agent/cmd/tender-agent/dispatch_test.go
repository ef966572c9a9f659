//go:build linux

package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/tenderdev/tender/agent/api"
)

// The dispatch table and the contract's command table name the same
// commands: a command the host can build is one the agent runs.
func TestHandlersCoverTheCommandTable(t *testing.T) {
	table := handlers("v")
	for _, c := range api.Commands {
		if table[c.Name] == nil {
			t.Errorf("api command %q has no handler", c.Name)
		}
	}
	for name := range table {
		if _, ok := api.LookupCommand(name); !ok {
			t.Errorf("handler %q is not in api.Commands", name)
		}
	}
}

func TestDispatch(t *testing.T) {
	var out bytes.Buffer
	if err := dispatch(handlers("v1.2.3"), []string{"version"}, &out); err != nil || out.String() != "v1.2.3\n" {
		t.Errorf("version: %q, %v", out.String(), err)
	}
	out.Reset()
	if err := dispatch(handlers("v"), []string{"clock"}, &out); err != nil {
		t.Errorf("clock: %v", err)
	} else if _, err := api.ParseClock(out.String()); err != nil {
		t.Errorf("clock printed %q: %v", out.String(), err)
	}
	err := dispatch(handlers("v"), []string{"dance"}, &out)
	if !errors.Is(err, api.ErrUnknownCommand) || !strings.Contains(err.Error(), `unknown command "dance"`) {
		t.Errorf("unknown command: %v", err)
	}
	if err := dispatch(handlers("v"), nil, &out); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("no command: %v", err)
	}
	if err := dispatch(handlers("v"), []string{"set-clock"}, &out); err == nil || err.Error() != "usage: tender-agent set-clock UNIX_NANOSECONDS" {
		t.Errorf("set-clock without its argument: %v", err)
	}
	if err := dispatch(handlers("v"), []string{"version", "extra"}, &out); err == nil || !strings.Contains(err.Error(), "usage: tender-agent version") {
		t.Errorf("version with an argument: %v", err)
	}
}
