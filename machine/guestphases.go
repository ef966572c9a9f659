package machine

import (
	"bufio"
	"io"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// guestPhaseRE matches the agent's "tender-agent: phase NAME SECONDS" lines
// (agent/guest), SECONDS being the guest's uptime. Compiled on first use,
// as are this package's other regexps: package initialisation runs for every
// tender command, `tender shellinit` in each new shell included.
var guestPhaseRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`tender-agent: phase (\S+) ([0-9]+(?:\.[0-9]+)?)`)
})

// parseGuestPhases returns the last boot's phases from a serial log, named
// "guest NAME" and timed by the guest's uptime (the guest's clock starts
// with its kernel, a little after the host started QEMU).
func parseGuestPhases(r io.Reader) []Phase {
	var phases []Phase
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := guestPhaseRE().FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		secs, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		if m[1] == "agent-start" {
			phases = phases[:0] // a new boot in the same log
		}
		phases = append(phases, Phase{Name: "guest " + m[1], After: time.Duration(secs * float64(time.Second))})
	}
	return phases
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
