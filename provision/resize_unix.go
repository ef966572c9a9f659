//go:build unix

package provision

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// watchResize calls changed with the terminal's new size after each
// SIGWINCH until ctx ends.
func watchResize(ctx context.Context, fd, width, height int, changed func(width, height int)) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	defer signal.Stop(sig)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
			w, h, err := term.GetSize(fd)
			if err != nil || (w == width && h == height) {
				continue
			}
			width, height = w, h
			changed(w, h)
		}
	}
}

// enableTerminalOutput is needed on Windows only; unix terminals interpret
// escape sequences already.
func enableTerminalOutput(int) (restore func(), err error) {
	return func() {}, nil
}
