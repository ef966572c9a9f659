#!/bin/sh
# deps.sh installs what building tender, its ISO and its tests needs on a
# Debian or Ubuntu machine: QEMU, the ISO tools, busybox-static for the test
# image, strace for the benchmarks, the docker CLI, ruby (to check the Homebrew
# formula) and staticcheck.
# It installs only what is missing, so `make` can call it every time.
set -eu

need_pkgs=""
want() { # want PACKAGE COMMAND-OR-FILE
	if ! command -v "$2" >/dev/null 2>&1 && [ ! -e "$2" ]; then
		need_pkgs="$need_pkgs $1"
	fi
}
want qemu-system-x86 qemu-system-x86_64
want qemu-system-arm qemu-system-aarch64 # the arm64 image (make iso ARCH=arm64) and its e2e test
want qemu-utils qemu-img
want xorriso xorriso
want isolinux /usr/lib/ISOLINUX/isolinux.bin
want syslinux-common /usr/lib/syslinux/modules/bios/ldlinux.c32
want squashfs-tools mksquashfs
want cpio cpio
want zstd zstd
want xz-utils xz
want busybox-static /bin/busybox
want strace strace
want e2fsprogs mkfs.ext4
want binutils readelf
want openssh-client ssh
want curl curl
want sshpass sshpass
want hyperfine hyperfine
want zsh zsh
want fish fish
want tcsh tcsh
want debian-archive-keyring /usr/share/keyrings/debian-archive-keyring.gpg
want docker.io docker
want ruby ruby # `ruby -c` checks the Homebrew formula

if [ -n "$need_pkgs" ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	echo "deps: installing$need_pkgs" >&2
	$SUDO apt-get update -qq
	# docker.io is wanted only for its CLI; never start its daemon here.
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need_pkgs >/dev/null
fi

GOBIN="$(go env GOPATH)/bin"
if ! command -v staticcheck >/dev/null 2>&1 && [ ! -x "$GOBIN/staticcheck" ]; then
	echo "deps: installing staticcheck" >&2
	go install honnef.co/go/tools/cmd/staticcheck@latest
fi
