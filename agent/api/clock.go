package api

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FormatClock is how `tender-agent clock` prints the time and `set-clock`
// takes it: Unix nanoseconds, free of time zones and locales.
func FormatClock(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// ParseClock reads FormatClock's output.
func ParseClock(s string) (time.Time, error) {
	ns, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("clock: %q is not Unix nanoseconds", strings.TrimSpace(s))
	}
	return time.Unix(0, ns), nil
}
