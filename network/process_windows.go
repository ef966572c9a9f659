package network

import "errors"

var errWindows = errors.New("networks between machines need unix datagram sockets, which tender does not use on Windows yet")

// switchAlive: no switch runs on Windows (Supported says why).
func switchAlive(pid int) bool { return false }

func exited(pid int) bool { return true }

func terminate(pid int, kill bool) {}

// Supported reports whether this host can run networks between machines.
func Supported() error { return errWindows }
