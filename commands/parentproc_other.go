//go:build !windows

package commands

// parentProcessName is read on Windows only: elsewhere shellinit follows
// $SHELL.
func parentProcessName() string { return "" }
