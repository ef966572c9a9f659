// Package clock reads and sets the guest's wall clock for the host agent,
// which keeps it within a second of the host's (a guest's clock falls behind
// while the host sleeps).
package clock

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Format is how `tender-agent clock` prints the time: Unix nanoseconds.
func Format(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// Parse reads Format's output.
func Parse(s string) (time.Time, error) {
	ns, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("clock: %q is not Unix nanoseconds", strings.TrimSpace(s))
	}
	return time.Unix(0, ns), nil
}

// Offset is how far the guest's clock is ahead of the host's, from a reading
// guest taken between the host's sent and received: the guest read its clock
// about halfway through the round trip.
func Offset(sent, received, guest time.Time) time.Duration {
	mid := sent.Add(received.Sub(sent) / 2)
	return guest.Sub(mid)
}

// Threshold is the difference the host agent tolerates.
const Threshold = time.Second
