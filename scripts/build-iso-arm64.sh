#!/bin/bash
# build-iso-arm64.sh builds out/tender-arm64.iso (and its .sha256), the guest
# image for arm64 hosts (Apple Silicon, arm64 Linux), on this amd64 machine
# from Debian 13 (trixie) arm64 packages: `make iso ARCH=arm64`. It sources
# build-iso.sh and runs its main with build-iso.sh's arch settings and arch
# hooks (preflight, root_list, run_depmod, assemble_iso) replaced:
#
#   kernel     linux-image-arm64's Image, gzip-compressed (-9), as
#              /boot/vmlinuz; tender boots it directly (qemu -kernel, which
#              unpacks gzip) with /boot/initrd.img and the command line in
#              /boot/cmdline, all three read from the ISO by the host. Measured
#              here under TCG, edk2 alone took ~8 s to reach its shell before
#              any boot loader ran, so the ISO carries no UEFI loader.
#   initramfs  as amd64, with scripts/iso-arm64/modules-initramfs.txt (the CD
#              is a SCSI CD on virtio-scsi)
#   root       as amd64: scripts/iso/rootfs.txt with the aarch64 paths,
#              scripts/iso-arm64/modules.txt, the agent built for GOARCH=arm64
#
# The staged arm64 programs cannot run here, so depmod is the host's and the
# busybox applet links are the host busybox's applets that the arm64 busybox
# also names. Cached like amd64, in $TENDER_BUILD_CACHE/arm64.
set -euo pipefail

# shellcheck source=build-iso.sh
. "$(dirname "$0")/build-iso.sh"

ISO_DIR=$REPO/scripts/iso-arm64
CACHE=$CACHE/arm64
APT=$CACHE/apt
apt_opts=(-o "Dir=$APT" -o "Dir::State::status=$APT/var/lib/dpkg/status" -o Debug::NoLocking=1
	-o APT::Install-Recommends=false -o Acquire::Retries=3
	-o APT::Architecture=arm64 -o APT::Architectures=arm64)
ISO_NAME=tender-arm64.iso
AGENT_GOARCH=arm64
ARCH_LABEL=" arm64"
LIBDIR=/usr/lib/aarch64-linux-gnu
# The branch filters for arm64 code: xz's --arm64 for the engine archive;
# squashfs has none for arm64, so the root gets plain xz.
ENGINE_BCJ=--arm64
SQUASHFS_OPTS=${TENDER_SQUASHFS_OPTS:--Xdict-size 100%}

cache_key() {
	{
		echo "arm64 squashfs=$SQUASHFS_COMP $SQUASHFS_OPTS initrd=$INITRD_COMP"
		cd "$REPO"
		{
			find scripts/build-iso.sh scripts/build-iso-arm64.sh scripts/iso scripts/iso-arm64 \
				VERSION go.mod go.sum -type f
			find agent -type f -name '*.go' ! -name '*_test.go'
		} | LC_ALL=C sort | xargs sha256sum
	} | sha256sum | cut -d' ' -f1
}

# root_list prints scripts/iso/rootfs.txt with the arm64 loader and library
# directory, so both images keep the same programs.
root_list() {
	grep -v '^[[:space:]]*\(#\|$\)' "$REPO/scripts/iso/rootfs.txt" |
		sed -e 's|^/usr/lib64/ld-linux-x86-64\.so\.2$|/usr/lib/ld-linux-aarch64.so.1|' \
			-e "s|/usr/lib/x86_64-linux-gnu/|$LIBDIR/|"
}

keep_libs() { # keep_libs ELF-PATH: build-iso.sh's, with the aarch64 directories
	local elf=$1 line dirs=() libs=() lib d found
	while read -r line; do
		if [[ $line =~ \((RUNPATH|RPATH)\).*\[(.*)\] ]]; then
			IFS=: read -ra dirs <<<"${BASH_REMATCH[2]//\$ORIGIN/${elf%/*}}"
		elif [[ $line =~ \(NEEDED\).*\[(.*)\] ]]; then
			libs+=("${BASH_REMATCH[1]}")
		fi
	done < <(readelf -d "$STAGE$elf" 2>/dev/null)
	for lib in "${libs[@]}"; do
		found=
		for d in "${dirs[@]}" "$LIBDIR" /usr/lib; do
			if [ -e "$STAGE$d/$lib" ]; then
				keep "$d/$lib"
				found=1
				break
			fi
		done
		[ -n "$found" ] || die "$elf needs $lib, which no extracted package has"
	done
}

# link_applets links the applets the host's busybox lists and the arm64
# busybox names too (its applet table is a run of NUL-terminated names).
link_applets() {
	local a names
	names=$(strings -n 1 "$STAGE/usr/bin/busybox" | LC_ALL=C sort -u)
	for a in $(/bin/busybox --list-full); do
		grep -qxF "${a##*/}" <<<"$names" || continue
		canon "/$a"
		a=$CANON
		[ -e "$ROOT$a" ] || [ -L "$ROOT$a" ] || ln -s /usr/bin/busybox "$ROOT$a"
	done
}

preflight() { # no boot loader: tender boots the kernel directly
	need readelf mksquashfs xorriso cpio xz zstd go
	# The staged arm64 programs cannot run here: the host's depmod and busybox.
	need strings depmod /bin/busybox
}

run_depmod() { # run_depmod BASEDIR, with the host's depmod
	depmod -b "$1" "$KVER"
}

# assemble_iso: the kernel for direct boot and its command line, read from
# the ISO by the host; no boot loader.
assemble_iso() { # assemble_iso FILE
	# QEMU's -kernel unpacks a gzip Image itself (not xz or zstd).
	gzip -9 -n -c "$STAGE/boot/vmlinuz-$KVER" >"$ISO/boot/vmlinuz"
	log "vmlinuz: $(du -h --apparent-size "$ISO/boot/vmlinuz" | cut -f1)B (gzip)"
	grep -v '^#' "$ISO_DIR/cmdline.txt" | tr -s ' \n' ' ' | sed 's/ $//' >"$ISO/boot/cmdline"
	xorriso -as mkisofs -quiet -o "$1" -V "tender-v$VERSION" -r -J -no-pad "$ISO"
}

main "$@"
