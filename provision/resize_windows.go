//go:build windows

package provision

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/term"
)

// resizePollInterval is how often the console size is checked: Windows has
// no SIGWINCH.
const resizePollInterval = 250 * time.Millisecond

// watchResize polls the console size and calls changed when it differs,
// until ctx ends.
func watchResize(ctx context.Context, fd, width, height int, changed func(width, height int)) {
	t := time.NewTicker(resizePollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w, h, err := term.GetSize(fd)
			if err != nil || (w == width && h == height) {
				continue
			}
			width, height = w, h
			changed(w, h)
		}
	}
}

// enableTerminalOutput turns on virtual terminal processing on the console
// output handle fd, so the guest's escape sequences (colours, cursor moves)
// are interpreted instead of printed.
func enableTerminalOutput(fd int) (restore func(), err error) {
	h := windows.Handle(fd)
	var mode uint32
	if err := windows.GetConsoleMode(h, &mode); err != nil {
		// Not a console output handle (stdin was the terminal, stdout
		// is redirected): nothing to enable.
		return func() {}, nil
	}
	want := mode | windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING | windows.DISABLE_NEWLINE_AUTO_RETURN
	if err := windows.SetConsoleMode(h, want); err != nil {
		return nil, fmt.Errorf("enabling terminal sequences on the console: %w", err)
	}
	return func() { _ = windows.SetConsoleMode(h, mode) }, nil
}
