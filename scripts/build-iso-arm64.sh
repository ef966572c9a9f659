#!/bin/bash
# build-iso-arm64.sh builds out/tender-arm64.iso (and its .sha256), the guest
# image for arm64 hosts (Apple Silicon, arm64 Linux), on this amd64 machine
# from Debian 13 (trixie) arm64 packages: `make iso ARCH=arm64`. It sources
# build-iso.sh for the shared steps (apt, extraction, the allow-listed root,
# module resolution, the skeleton) and replaces what differs by arch:
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

publish() { # publish DIR KEY
	mkdir -p "$OUT"
	cp "$1/$ISO_NAME" "$OUT/$ISO_NAME.tmp"
	mv "$OUT/$ISO_NAME.tmp" "$OUT/$ISO_NAME"
	(cd "$OUT" && sha256sum "$ISO_NAME" >"$ISO_NAME.sha256")
	echo "$2" >"$OUT/.$ISO_NAME.key"
	log "out/$ISO_NAME: $(du -h --apparent-size "$OUT/$ISO_NAME" | cut -f1)B ($(stat -c %s "$OUT/$ISO_NAME") bytes), volume tender-v$VERSION"
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
	for a in $(busybox --list-full); do
		grep -qxF "${a##*/}" <<<"$names" || continue
		canon "/$a"
		a=$CANON
		[ -e "$ROOT$a" ] || [ -L "$ROOT$a" ] || ln -s /usr/bin/busybox "$ROOT$a"
	done
}

main() {
	[ "$(id -u)" -eq 0 ] || die "run as root (it extracts packages with their owners and makes device nodes)"
	for t in apt-get dpkg-deb readelf strings mksquashfs xorriso cpio xz zstd gzip go depmod busybox; do
		command -v "$t" >/dev/null || die "$t is missing: run scripts/deps.sh"
	done
	mkdir -p "$CACHE"

	local key
	key=$(cache_key)
	log "tender-v$VERSION arm64, key ${key:0:16}, root squashfs $SQUASHFS_COMP $SQUASHFS_OPTS, initramfs $INITRD_COMP"
	if [ -f "$OUT/$ISO_NAME" ] && [ "$(cat "$OUT/.$ISO_NAME.key" 2>/dev/null)" = "$key" ]; then
		log "out/$ISO_NAME is up to date"
		return
	fi

	exec 9>"$CACHE/.lock"
	if ! flock -n 9; then
		log "waiting for another build to release $CACHE/.lock"
		flock 9
	fi
	if [ -f "$CACHE/iso/$key/$ISO_NAME" ]; then
		log "taking the ISO from the cache"
		publish "$CACHE/iso/$key" "$key"
		return
	fi

	phase fetch
	apt_setup
	local debs pkgkey
	pkgkey=$(sha256sum <"$ISO_DIR/packages.txt" | cut -d' ' -f1)
	mapfile -t debs <"$CACHE/debs.list" 2>/dev/null || true
	if [ "$(cat "$CACHE/debs.list.key" 2>/dev/null)" != "$pkgkey" ] || [ "${#debs[@]}" -eq 0 ] ||
		! ls "${debs[@]}" >/dev/null 2>&1; then
		fetch >"$CACHE/debs.list"
		echo "$pkgkey" >"$CACHE/debs.list.key"
		mapfile -t debs <"$CACHE/debs.list"
	fi
	[ "${#debs[@]}" -gt 0 ] || die "apt resolved no packages"

	phase extract
	stage "${debs[@]}"
	KVER=$(ls "$STAGE/usr/lib/modules")
	[ "$(wc -w <<<"$KVER")" -eq 1 ] || die "expected one kernel in the packages, found: $KVER"
	KMOD=$STAGE/usr/lib/modules/$KVER
	[ -f "$KMOD/modules.dep" ] || depmod -b "$STAGE" "$KVER"

	WORK=$CACHE/work
	rm -rf "$WORK"
	mkdir -p "$WORK"
	ROOT=$WORK/root
	INITRD=$WORK/initramfs
	ISO=$WORK/iso

	phase agent
	(cd "$REPO" && CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath \
		-ldflags "-s -w -X main.version=$VERSION" -o "$WORK/tender-agent" ./agent/cmd/tender-agent)
	(cd "$REPO" && CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath \
		-ldflags "-s -w -X main.version=$VERSION" -o "$WORK/tender-init" ./agent/cmd/tender-init)

	phase root
	mkdir -p "$ROOT"
	skeleton
	local p
	while read -r p; do keep "$p"; done < <(root_list)
	link_iptables
	link_applets
	install -m 0755 "$WORK/tender-agent" "$ROOT/usr/sbin/tender-agent"
	module_order "$ISO_DIR/modules-initramfs.txt" >"$WORK/modules-initramfs"
	# Stage 1 loaded the initramfs's modules, and loaded modules stay: the
	# root carries only the others (a second copy cost ~0.9 MB of ISO).
	module_order "$ISO_DIR/modules.txt" | grep -vxF -f "$WORK/modules-initramfs" >"$ROOT/etc/tender/modules"
	install_modules "$ROOT/etc/tender/modules" "$ROOT/usr/lib/modules/$KVER"
	cp "$KMOD/modules.order" "$KMOD/modules.builtin" "$KMOD/modules.builtin.modinfo" "$ROOT/usr/lib/modules/$KVER/"
	depmod -b "$ROOT" "$KVER"
	log "root: $(du -sh "$ROOT" | cut -f1)B, $(find "$ROOT" | wc -l) files, $(wc -l <"$ROOT/etc/tender/modules") modules"

	mkdir -p "$ISO/tender" "$ISO/boot"
	# The engine archive of build-iso.sh (scripts/iso/engine.txt), when that
	# build has one: both images must match what the agent expects.
	if declare -F pack_engine >/dev/null && [ -e "$ISO_DIR/engine.txt" ]; then
		phase engine
		pack_engine "$ISO/tender"
	fi

	phase squashfs
	# shellcheck disable=SC2086 # SQUASHFS_OPTS holds several options
	mksquashfs "$ROOT" "$ISO/tender/root.sqfs" -noappend -quiet -no-progress \
		-comp "$SQUASHFS_COMP" $SQUASHFS_OPTS -b 1M -no-exports -xattrs >/dev/null
	log "root.sqfs: $(du -h --apparent-size "$ISO/tender/root.sqfs" | cut -f1)B"

	phase initramfs
	mkdir -p "$INITRD/etc/tender" "$INITRD/dev" "$INITRD/proc" "$INITRD/sys" "$INITRD/media/tender-iso"
	mknod -m 0600 "$INITRD/dev/console" c 5 1
	install -m 0755 "$WORK/tender-init" "$INITRD/init"
	echo "$VERSION" >"$INITRD/etc/tender-initramfs"
	cp "$WORK/modules-initramfs" "$INITRD/etc/tender/modules-initramfs"
	install_modules "$WORK/modules-initramfs" "$INITRD/lib/modules/$KVER"
	local compress=(cat)
	case $INITRD_COMP in
	zstd) compress=(zstd -q -19 -T0) ;;
	gzip) compress=(gzip -9 -n) ;;
	none) ;;
	*) die "TENDER_INITRD_COMP must be zstd, gzip or none, got $INITRD_COMP" ;;
	esac
	(cd "$INITRD" && find . | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet | "${compress[@]}") >"$ISO/boot/initrd.img"
	log "initrd.img: $(du -h --apparent-size "$ISO/boot/initrd.img" | cut -f1)B"

	phase iso
	# QEMU's -kernel unpacks a gzip Image itself (not xz or zstd).
	gzip -9 -n -c "$STAGE/boot/vmlinuz-$KVER" >"$ISO/boot/vmlinuz"
	log "vmlinuz: $(du -h --apparent-size "$ISO/boot/vmlinuz" | cut -f1)B (gzip)"
	grep -v '^#' "$ISO_DIR/cmdline.txt" | tr -s ' \n' ' ' | sed 's/ $//' >"$ISO/boot/cmdline"
	echo "$VERSION" >"$ISO/tender/VERSION"
	mkdir -p "$CACHE/iso/$key"
	xorriso -as mkisofs -quiet -o "$CACHE/iso/$key/$ISO_NAME" -V "tender-v$VERSION" -r -J "$ISO"
	ls -1dt "$CACHE"/iso/*/ | tail -n +6 | xargs -r rm -rf
	publish "$CACHE/iso/$key" "$key"
	[ -n "${TENDER_KEEP_WORK:-}" ] || rm -rf "$WORK"
	phase end
	log "total $(since "$T0")s"
}

main "$@"
