//go:build linux

// Package initramfs is the agent's first stage: from the initramfs it mounts
// the ISO's squashfs root under a tmpfs overlay and switches to it.
//
// The kernel runs the agent as /init of a small initramfs that holds only the
// agent, the Marker file, the modules that find the boot CD and their list
// (ModuleList). Run loads those modules, finds the block device holding an
// iso9660 filesystem with RootImage, mounts the squashfs through a read-only
// loop device as the lower layer of an overlay whose upper layer is a tmpfs,
// moves /proc, /sys, /dev and the CD's mount (ISOMount) into it, deletes the
// initramfs files so they free their RAM, makes the overlay the root and
// execs Stage2 with the same argv. On a fatal error it says why on the
// console, waits, and powers the machine off rather than let the kernel panic.
package initramfs

import "os"

const (
	// Marker is the file that exists only in the initramfs.
	Marker = "/etc/tender-initramfs"
	// ModuleList names the modules to load, one path a line relative to
	// /lib/modules/$(uname -r), dependencies first.
	ModuleList = "/etc/tender/modules-initramfs"
	// RootImage is the squashfs root's path on the boot medium.
	RootImage = "/tender/root.sqfs"
	// ISOMount is where the boot medium stays mounted, read-only, in the
	// initramfs and then in the real root. It is outside /run, which stage 2
	// may mount a tmpfs on.
	ISOMount = "/media/tender-iso"
	// Stage2 is the agent in the real root.
	Stage2 = "/sbin/tender-agent"
)

// Active reports whether this process runs in the initramfs.
func Active() bool {
	_, err := os.Stat(Marker)
	return err == nil
}
