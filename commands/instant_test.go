package commands

import (
	"slices"
	"testing"
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
