package commands

import (
	"slices"
	"strings"
)

// instantCommands only read local files and print; shellinit runs in every
// new shell. A test checks that each is a command or alias of the app.
var instantCommands = []string{"status", "shellinit", "env", "socket", "ip", "version"}

// Instant reports whether the command line args (os.Args) runs one of the
// commands that only read local files and print (status, shellinit, ip,
// version). main runs those without turning Ctrl-C into a cancelled
// context: they finish in milliseconds, so the default, ending the process,
// cannot leave anything half-done, and os/signal's setup (two goroutines and
// a thread) is a good part of such a run. A command line it cannot read for
// certain (a flag it does not know, no command) is not instant, which only
// costs that setup.
func Instant(args []string) bool {
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--vm" || a == "-vm":
			i++ // the flag's value
		case strings.HasPrefix(a, "--vm=") || strings.HasPrefix(a, "-vm="),
			a == "--verbose" || a == "-verbose" || a == "-v" || a == "--v":
		case strings.HasPrefix(a, "-"):
			return false
		default:
			return slices.Contains(instantCommands, a)
		}
	}
	return false
}
