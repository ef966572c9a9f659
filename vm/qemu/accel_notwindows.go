//go:build !windows

package qemu

func whpxInstalled() bool { return false }
