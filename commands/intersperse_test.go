package commands

import (
	"io"
	"reflect"
	"strings"
	"testing"
)

// Flags after a command's arguments move before them, with their values;
// the app's flags after the command move before it; "--", ssh's command
// line, an unknown command and completion are left as they are.
func TestIntersperse(t *testing.T) {
	app := New(&Env{Stdout: io.Discard, Stderr: io.Discard})
	for _, tc := range []struct{ in, want string }{
		{"delete dev -f", "delete -f dev"},
		{"up dev --activate", "up --activate dev"},
		{"status dev --format json", "status --format json dev"},
		{"status dev --format=json", "status --format=json dev"},
		{"init --network lab n1 --cpus 4", "init --network lab --cpus 4 n1"},
		{"up dev --vm dev", "--vm dev up dev"},
		{"--verbose up dev -v", "--verbose up -v dev"}, // up has its own -v
		{"network create lab --subnet 10.9.0.0/24", "network create --subnet 10.9.0.0/24 lab"},
		{"swarm join n2 --manager n1 --role manager", "swarm join --manager n1 --role manager n2"},
		{"ssh dev ls -la", "ssh dev ls -la"},
		{"ssh dev -- ls -la", "ssh dev -- ls -la"},
		{"cp dev:/a -r b", "cp -r dev:/a b"},
		{"nosuch dev -f", "nosuch dev -f"},
		{"up dev --generate-bash-completion", "up dev --generate-bash-completion"},
		{"", ""},
	} {
		in := append([]string{"tender"}, strings.Fields(tc.in)...)
		want := append([]string{"tender"}, strings.Fields(tc.want)...)
		if got := Intersperse(app, in); !reflect.DeepEqual(got, want) {
			t.Errorf("Intersperse(%q) = %q, want %q", tc.in, strings.Join(got[1:], " "), tc.want)
		}
	}
}

// Through the app: the flag after the NAME takes effect.
func TestFlagsAfterTheName(t *testing.T) {
	h := newHarness(t)
	h.machine("dev", "1.0.0")
	if _, stderr, err := h.run("delete", "dev", "-f"); err != nil {
		t.Fatalf("delete dev -f: %v %s", err, stderr)
	}
	if stdout, _, _ := h.run("status", "dev", "--format", "json"); !strings.Contains(stdout, `"not-created"`) {
		t.Errorf("status dev --format json after the delete = %q, want not-created in JSON", stdout)
	}
}

// --vm and a NAME that disagree are refused in one line; that agree, or a
// TENDER_VM that a NAME overrides, are not.
func TestVMFlagAndNameDisagree(t *testing.T) {
	h := newHarness(t)
	h.machine("dev", "1.0.0")
	for _, args := range [][]string{{"--vm", "other", "status", "dev"}, {"status", "dev", "--vm=other"}} {
		_, _, err := h.run(args...)
		if err == nil || !strings.Contains(err.Error(), "--vm other and the NAME argument dev name different machines") {
			t.Errorf("%q: %v, want the disagreement refused", args, err)
		}
	}
	if _, _, err := h.run("status", "dev", "--vm", "dev"); stateOnly(err) != nil {
		t.Errorf("--vm and NAME agreeing: %v", err)
	}
	h.env["TENDER_VM"] = "other"
	if stdout, _, err := h.run("status", "dev"); stateOnly(err) != nil || !strings.Contains(stdout, "stopped") {
		t.Errorf("TENDER_VM=other status dev = %q, %v; want dev's state", stdout, err)
	}
}
