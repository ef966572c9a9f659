package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/machine"
	"github.com/tenderdev/tender/vm"
)

func TestInstant(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"tender", "shellinit"}, true},
		{[]string{"tender", "env", "--shell", "fish"}, true},
		{[]string{"tender", "socket"}, true},
		{[]string{"tender", "status", "dev"}, true},
		{[]string{"tender", "--vm", "dev", "status"}, true},
		{[]string{"tender", "-vm", "dev", "shellinit"}, true},
		{[]string{"tender", "--vm=dev", "-v", "ip"}, true},
		{[]string{"tender", "--verbose", "version"}, true},
		{[]string{"tender", "status", "--generate-bash-completion"}, true},

		{[]string{"tender", "up"}, false},
		{[]string{"tender", "init", "status"}, false},
		{[]string{"tender", "--vm", "status", "up"}, false}, // a machine called status
		{[]string{"tender", "--vm"}, false},
		{[]string{"tender", "--verbose=true", "status"}, false},
		{[]string{"tender", "--unknown", "status"}, false},
		{[]string{"tender", "help", "status"}, false},
		{[]string{"tender"}, false},
		{nil, false},
	}
	for _, tc := range tests {
		if got := Instant(tc.args); got != tc.want {
			t.Errorf("Instant(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

// Every instant command must exist: a rename would otherwise quietly give it
// the signal setup again.
func TestInstantCommandsExist(t *testing.T) {
	app := New(&Env{})
	for _, name := range instantCommands {
		found := false
		for _, c := range app.Commands {
			if c.Name == name || slices.Contains(c.Aliases, name) {
				found = true
			}
		}
		if !found {
			t.Errorf("instant command %q is not a command of the app", name)
		}
	}
}

func TestParseInstantLine(t *testing.T) {
	tests := []struct {
		args []string
		want instantLine
		ok   bool
	}{
		{[]string{"tender", "shellinit"}, instantLine{command: "shellinit"}, true},
		{[]string{"tender", "env", "dev"}, instantLine{command: "env", name: "dev", nameSet: true}, true},
		{[]string{"tender", "socket", "--shell", "fish"}, instantLine{command: "socket", shell: "fish", shellSet: true}, true},
		{[]string{"tender", "shellinit", "-shell=", "dev"}, instantLine{command: "shellinit", shellSet: true, name: "dev", nameSet: true}, true},
		{[]string{"tender", "--vm", "dev", "status"}, instantLine{command: "status", vm: "dev", vmSet: true}, true},
		{[]string{"tender", "-vm=dev", "status", "dev"}, instantLine{command: "status", vm: "dev", vmSet: true, name: "dev", nameSet: true}, true},
		{[]string{"tender", "status", ""}, instantLine{command: "status", nameSet: true}, true},

		{[]string{"tender", "--vm", "other", "status", "dev"}, instantLine{}, false}, // the app refuses it
		{[]string{"tender", "status", "dev", "--vm", "dev"}, instantLine{}, false},
		{[]string{"tender", "status", "--format", "json"}, instantLine{}, false},
		{[]string{"tender", "status", "a", "b"}, instantLine{}, false},
		{[]string{"tender", "status", "help"}, instantLine{}, false},
		{[]string{"tender", "shellinit", "--shell"}, instantLine{}, false},
		{[]string{"tender", "shellinit", "--shell", "fish", "--shell", "zsh"}, instantLine{}, false},
		{[]string{"tender", "shellinit", "--unset"}, instantLine{}, false},
		{[]string{"tender", "shellinit", "--help"}, instantLine{}, false},
		{[]string{"tender", "shellinit", "--"}, instantLine{}, false},
		{[]string{"tender", "status", "--generate-bash-completion"}, instantLine{}, false},
		{[]string{"tender", "shellinit", "--shell", "--generate-bash-completion"}, instantLine{}, false},
		{[]string{"tender", "-v", "status"}, instantLine{}, false},
		{[]string{"tender", "---vm", "dev", "status"}, instantLine{}, false},
		{[]string{"tender", "--vm"}, instantLine{}, false},
		{[]string{"tender", "ip"}, instantLine{}, false},
		{[]string{"tender"}, instantLine{}, false},
		{nil, instantLine{}, false},
	}
	for _, tc := range tests {
		got, ok := parseInstantLine(tc.args)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseInstantLine(%q) = %+v, %v; want %+v, %v", tc.args, got, ok, tc.want, tc.ok)
		}
	}
}

// The instant path prints, fails and exits as the app does for every line
// it takes, in each state a machine can be found in.
func TestInstantLineSameAsApp(t *testing.T) {
	lines := [][]string{
		{"shellinit"}, {"env", "dev"}, {"socket", "nothing"}, {"shellinit", "Bad_Name!"},
		{"shellinit", "--shell", "fish", "dev"}, {"shellinit", "dev", "--shell=powershell"},
		{"shellinit", "--shell", "nosuch"}, {"shellinit", "--shell="},
		{"--vm", "dev", "shellinit"}, {"--vm=dev", "env", "dev"},
		{"status"}, {"status", "dev"}, {"status", "nothing"}, {"status", ""}, {"-vm", "dev", "status"},
	}
	for _, state := range []vm.State{vm.Running, vm.Stopped, vm.Saved} {
		for _, tenderVM := range []string{"", "dev"} {
			h := newHarness(t)
			h.env["SHELL"] = "/bin/zsh"
			for _, name := range []string{"default", "dev"} {
				m := h.machine(name, "1.0.0")
				if err := os.WriteFile(filepath.Join(m.Dir, machine.StateFile), []byte(`{"driver": "qemu", "docker_port": 2399}`), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			h.driver.Current = state
			if tenderVM != "" {
				// urfave/cli reads TENDER_VM from the process's
				// environment, the instant path through env.LookupEnv;
				// in tender both are the process's.
				h.env["TENDER_VM"] = tenderVM
				t.Setenv("TENDER_VM", tenderVM)
			} else {
				t.Setenv("TENDER_VM", "")
				os.Unsetenv("TENDER_VM")
			}
			for _, args := range lines {
				if _, ok := parseInstantLine(append([]string{"tender"}, args...)); !ok {
					t.Fatalf("%q is not an instant line", args)
				}
				wantOut, wantErr, wantExit := h.runWith(runApp, args...)
				gotOut, gotErr, gotExit := h.runWith(Run, args...)
				if gotOut != wantOut || gotErr != wantErr || gotExit != wantExit {
					t.Errorf("%s, TENDER_VM=%q, tender %q:\ninstant: %q, %q, %s\napp:     %q, %q, %s", state, tenderVM, args, gotOut, gotErr, gotExit, wantOut, wantErr, wantExit)
				}
			}
		}
	}
}

// runWith runs `tender args...` through run (Run or runApp) and returns
// stdout, stderr, and the error with its exit code.
func (h *harness) runWith(run func(context.Context, *Env) error, args ...string) (string, string, string) {
	var stdout, stderr bytes.Buffer
	env := &Env{
		Stdout: &stdout, Stderr: &stderr,
		Getenv:    func(k string) string { return h.env[k] },
		LookupEnv: func(k string) (string, bool) { v, ok := h.env[k]; return v, ok },
		NewStore:  h.store,
		Args:      append([]string{"tender"}, args...),
	}
	err := run(context.Background(), env)
	outcome := "ok"
	if err != nil {
		outcome = "error " + err.Error()
		var exit cli.ExitCoder
		if errors.As(err, &exit) {
			outcome += fmt.Sprintf(" (exit %d)", exit.ExitCode())
		}
	}
	return stdout.String(), stderr.String(), outcome
}
