//go:build !unix && !windows

package provision

import "context"

// watchResize does nothing where there is no way to learn of resizes.
func watchResize(ctx context.Context, fd, width, height int, changed func(width, height int)) {}

// enableTerminalOutput has nothing to enable here.
func enableTerminalOutput(int) (restore func(), err error) {
	return func() {}, nil
}
