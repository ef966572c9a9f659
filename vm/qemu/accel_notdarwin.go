//go:build !darwin

package qemu

func hvfSupported() bool { return false }
