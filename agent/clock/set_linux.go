package clock

import (
	"time"

	"golang.org/x/sys/unix"
)

// Set sets the wall clock (root only).
func Set(t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	return unix.ClockSettime(unix.CLOCK_REALTIME, &ts)
}
