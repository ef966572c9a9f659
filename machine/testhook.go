package machine

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// PauseEnv names a test hook: with TENDER_TEST_PAUSE_AT=STEP (a
// comma-separated list is allowed), a use case that reaches STEP prints
// "paused at STEP" on stderr and waits there until it is interrupted;
// STEP:DURATION ("init-disk:2s") waits at most that long, then goes on. The
// fault tests use it to deliver SIGINT at known points of `init` and prove
// that an interrupt leaves either nothing or a complete machine. The steps
// are "init-checked" (settings and image checked, nothing written),
// "init-credentials" (keys and certs in the temporary directory),
// "init-disk" (data disk made, machine.yaml not yet) and "init-renamed"
// (the machine directory in place: the machine is complete). It is not a
// setting: nothing else reads it, and unset it costs one lookup.
const PauseEnv = "TENDER_TEST_PAUSE_AT"

// pauseAt implements PauseEnv. It returns ctx's error when the pause ended
// by an interrupt, and nil when step is not paused at.
func (s *Store) pauseAt(ctx context.Context, step string) error {
	if v, ok := s.lookupEnv(PauseEnv); ok && v != "" {
		for _, want := range strings.Split(v, ",") {
			name, limit, _ := strings.Cut(strings.TrimSpace(want), ":")
			if name != step {
				continue
			}
			fmt.Fprintf(s.Progress, "paused at %s\n", step)
			d, err := time.ParseDuration(limit)
			if err != nil {
				<-ctx.Done()
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
			break
		}
	}
	return ctx.Err()
}
