package machine

import (
	"bufio"
	"io"
	"os"
	"time"

	"github.com/tenderdev/tender/agent/api"
)

// parseGuestPhases returns the last boot's phases from a serial log
// (api.PhaseLine), named "guest NAME" and timed by the guest's uptime (the
// guest's clock starts with its kernel, a little after the host started
// QEMU).
func parseGuestPhases(r io.Reader) []Phase {
	var phases []Phase
	scanConsole(r, func(ev api.ConsoleEvent) {
		if ev.Kind != api.ConsolePhase {
			return
		}
		if ev.Phase == api.PhaseAgentStart {
			phases = phases[:0] // a new boot in the same log
		}
		phases = append(phases, Phase{Name: "guest " + ev.Phase, After: time.Duration(ev.Seconds * float64(time.Second))})
	})
	return phases
}

// scanConsole calls fn with each agent line of a serial log.
func scanConsole(r io.Reader, fn func(api.ConsoleEvent)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if ev, ok := api.ParseConsoleLine(sc.Text()); ok {
			fn(ev)
		}
	}
}

// guestPhases reads the phases from the serial log at path; a missing or
// unreadable log gives none (they are only shown by `up --verbose`).
func guestPhases(path string) []Phase {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseGuestPhases(f)
}
