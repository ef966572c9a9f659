#!/bin/bash
# build-iso.sh builds the guest image and its .sha256 from Debian 13 (trixie)
# packages: run as root on Debian 12 or 13 after scripts/deps.sh, with only
# the Debian mirror reachable.
#
#   scripts/build-iso.sh [--arch amd64]    out/tender.iso (make iso)
#   scripts/build-iso.sh --arch arm64      out/tender-arm64.iso, for arm64 hosts
#                                          (Apple Silicon, arm64 Linux): make iso-arm64
#
#   kernel     Debian's generic linux-image-ARCH as /boot/vmlinuz. amd64: booted
#              by ISOLINUX (a hybrid CD for QEMU and VirtualBox). arm64: the
#              Image gzip-compressed (-9), booted directly (qemu -kernel, which
#              unpacks gzip) with /boot/initrd.img and the command line in
#              /boot/cmdline, all three read from the ISO by the host; measured
#              under TCG, edk2 alone took ~8 s to reach its shell before any boot
#              loader ran, so that ISO carries no UEFI loader.
#   initramfs  /boot/initrd.img: tender-init (stage 1) as /init plus the modules that
#              find and mount the CD (agent/initramfs)
#   root       /tender/root.sqfs: an allow-list of binaries from the .debs
#              (scripts/iso/rootfs.txt), their library closure, the modules of
#              scripts/iso/modules.txt (and of modules-ondemand.txt, for the kernel to
#              load when first asked), scripts/iso/rootfs/ and the agent as
#              /sbin/tender-agent; stage 1 mounts it under a tmpfs overlay.
#
# One source for both: the lists in scripts/iso/ are shared, and a line that
# ends in arch names (amd64, arm64) is only for those (arch_list); what else
# differs is the table under "the arch" below. When the host cannot run the
# staged programs (arm64 on amd64), depmod and busybox's applet list are the
# host's.
#
# Downloads and finished ISOs are cached in $TENDER_BUILD_CACHE (default
# /var/cache/tender-build; arm64 in its arm64/), keyed by the inputs: an
# unchanged tree rebuilds in seconds. Knobs (part of the key):
# TENDER_SQUASHFS_COMP (zstd, xz, gzip, lz4), TENDER_SQUASHFS_OPTS,
# TENDER_INITRD_COMP (zstd, gzip, none), TENDER_IPTABLES (nft, legacy: the
# flavour the iptables links run).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${TENDER_BUILD_CACHE:-/var/cache/tender-build}
OUT=$REPO/out
ISO_DIR=$REPO/scripts/iso
SQUASHFS_COMP=${TENDER_SQUASHFS_COMP:-xz}
INITRD_COMP=${TENDER_INITRD_COMP:-zstd}
IPTABLES=${TENDER_IPTABLES:-nft}
VERSION=$(tr -d ' \n' <"$REPO/VERSION")
export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/sbin:/sbin:$PATH
# shellcheck source=need.sh
. "$REPO/scripts/need.sh"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || echo 0)}

shopt -s nullglob
T0=$(date +%s.%N)
phase_start=$T0
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf 'build-iso: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
phase() { # phase NAME: ends the running phase and names the next one
	[ -z "${phase_name:-}" ] || log "$(printf '%-10s done in %5ss' "$phase_name" "$(since "$phase_start")")"
	phase_name=$1
	phase_start=$(date +%s.%N)
	[ "$1" = end ] || log "$1..."
}

# --- the arch: everything but the lists' arch lines that differs --------------

ARCHES="amd64 arm64"
ARCH=amd64
while [ $# -gt 0 ]; do
	case $1 in
	--arch) ARCH=${2:-} && shift 2 || die "--arch needs one of: $ARCHES" ;;
	--arch=*) ARCH=${1#--arch=} && shift ;;
	*) die "usage: build-iso.sh [--arch amd64|arm64], got $1" ;;
	esac
done
# ISO_NAME   the image in out/ (and in the cache)
# LOADER     the dynamic loader, LIBDIR the multiarch library directory
# BOOT       isolinux: an ISOLINUX hybrid CD (BIOS: QEMU -cdrom, VirtualBox);
#            kernel: no boot loader, the host boots /boot/vmlinuz directly
# ENGINE_BCJ xz's branch filter for the engine archive (pack_engine)
# SQUASHFS   the root's default TENDER_SQUASHFS_OPTS: squashfs's xz has an x86
#            branch filter but none for arm64
case $ARCH in
amd64)
	ISO_NAME=tender.iso
	LOADER=/usr/lib64/ld-linux-x86-64.so.2
	LIBDIR=/usr/lib/x86_64-linux-gnu
	BOOT=isolinux
	ENGINE_BCJ=--x86
	SQUASHFS="-Xbcj x86 -Xdict-size 100%"
	;;
arm64)
	ISO_NAME=tender-arm64.iso
	CACHE=$CACHE/arm64
	LOADER=/usr/lib/ld-linux-aarch64.so.1
	LIBDIR=/usr/lib/aarch64-linux-gnu
	BOOT=kernel
	ENGINE_BCJ=--arm64
	SQUASHFS="-Xdict-size 100%"
	;;
*) die "--arch must be one of: $ARCHES, got ${ARCH:-nothing}" ;;
esac
SQUASHFS_OPTS=${TENDER_SQUASHFS_OPTS:-$SQUASHFS}
# NATIVE: the staged programs (the arch's own kmod and busybox) run here.
NATIVE=
[ "$(dpkg --print-architecture)" != "$ARCH" ] || NATIVE=1

# arch_list prints the entries of a scripts/iso list for $ARCH: one a line,
# # comments and blank lines skipped; a line whose entry is followed by arch
# names is only for those arches.
arch_list() { # arch_list FILE
	awk -v arch="$ARCH" -v arches=" $ARCHES " -v file="${1#"$REPO"/}" '
		{ sub(/(^|[[:space:]])#.*/, "") }
		NF == 0 { next }
		NF == 1 { print $1; next }
		{
			for (i = 2; i <= NF; i++) {
				if (index(arches, " " $i " ") == 0) {
					printf "build-iso: error: %s:%d: %s is not an arch (%s)\n", file, FNR, $i, substr(arches, 2, length(arches) - 2) > "/dev/stderr"
					bad = 1
				} else if ($i == arch) print $1
			}
		}
		END { exit bad }
	' "$1"
}

# cache_key prints the sha256 of everything the ISO is made from.
cache_key() {
	{
		echo "arch=$ARCH squashfs=$SQUASHFS_COMP $SQUASHFS_OPTS initrd=$INITRD_COMP iptables=$IPTABLES"
		cd "$REPO"
		{
			find scripts/build-iso.sh scripts/iso VERSION go.mod go.sum -type f
			find agent -type f -name '*.go' ! -name '*_test.go'
		} | LC_ALL=C sort | xargs sha256sum
	} | sha256sum | cut -d' ' -f1
}

# publish copies a finished ISO into out/ with its checksum and key.
publish() { # publish DIR KEY
	mkdir -p "$OUT"
	cp "$1/$ISO_NAME" "$OUT/$ISO_NAME.tmp"
	mv "$OUT/$ISO_NAME.tmp" "$OUT/$ISO_NAME"
	(cd "$OUT" && sha256sum "$ISO_NAME" >"$ISO_NAME.sha256")
	echo "$2" >"$OUT/.$ISO_NAME.key"
	log "out/$ISO_NAME: $(du -h --apparent-size "$OUT/$ISO_NAME" | cut -f1)B ($(stat -c %s "$OUT/$ISO_NAME") bytes), volume tender-v$VERSION"
}

# --- apt: resolve and download the package list ------------------------------

APT=$CACHE/apt
apt_opts=(-o "Dir=$APT" -o "Dir::State::status=$APT/var/lib/dpkg/status" -o Debug::NoLocking=1
	-o APT::Install-Recommends=false -o Acquire::Retries=3
	-o "APT::Architecture=$ARCH" -o "APT::Architectures=$ARCH")

apt_setup() {
	mkdir -p "$APT/etc/apt/apt.conf.d" "$APT/etc/apt/preferences.d" "$APT/var/lib/dpkg" \
		"$APT/var/lib/apt/lists/partial" "$APT/var/cache/apt/archives/partial"
	[ -e "$APT/var/lib/dpkg/status" ] || : >"$APT/var/lib/dpkg/status"
	local src='deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main'
	[ "$(cat "$APT/etc/apt/sources.list" 2>/dev/null)" = "$src" ] || echo "$src" >"$APT/etc/apt/sources.list"
}

# fetch downloads the closure of packages.txt and prints the .deb paths.
fetch() {
	local pkgs
	mapfile -t pkgs < <(arch_list "$ISO_DIR/packages.txt")
	if ! apt-get "${apt_opts[@]}" -qq -y -d install "${pkgs[@]}" >/dev/null 2>&1; then
		log "updating the trixie package lists"
		apt-get "${apt_opts[@]}" -qq update >&2 || die "apt-get update failed (is deb.debian.org reachable?)"
		apt-get "${apt_opts[@]}" -qq -y -d install "${pkgs[@]}" >&2 ||
			die "cannot download the packages of scripts/iso/packages.txt (a pinned version may have left the mirror: see that file)"
	fi
	# An empty dpkg status makes the simulation list the whole closure.
	apt-get "${apt_opts[@]}" -s install "${pkgs[@]}" |
		sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*\[\([a-z0-9]*\)\]).*/\1 \2 \3/p' |
		while read -r name ver arch; do
			local f="$APT/var/cache/apt/archives/${name}_${ver//:/%3a}_$arch.deb"
			[ -f "$f" ] || die "missing $f after download"
			echo "$f"
		done
}

# --- staging: every .deb extracted, usr-merged ---------------------------------

# stage extracts the .debs (maintainer scripts never run) once per package set.
stage() { # stage DEB...
	local key dir
	key=$(printf '%s\n' "$@" | xargs -n1 basename | sha256sum | cut -c1-16)
	dir=$CACHE/staging/$key
	if [ ! -e "$dir/.done" ]; then
		rm -rf "$CACHE/staging"
		mkdir -p "$dir/tree"
		for deb in "$@"; do dpkg-deb -x "$deb" "$dir/tree"; done
		usrmerge "$dir/tree"
		touch "$dir/.done"
	fi
	STAGE=$dir/tree
}

usrmerge() { # usrmerge TREE: /bin, /sbin, /lib, /lib64 become links into /usr
	local d
	for d in bin sbin lib lib64; do
		mkdir -p "$1/usr/$d"
		if [ -d "$1/$d" ] && [ ! -L "$1/$d" ]; then
			cp -a "$1/$d/." "$1/usr/$d/"
			rm -rf "${1:?}/$d"
		fi
		ln -sfn "usr/$d" "$1/$d"
	done
}

# run_staged runs a program of the staging tree with its own loader.
run_staged() { # run_staged ARGV0 PATH ARGS...
	local argv0=$1 prog=$2
	shift 2
	"$STAGE$LOADER" --library-path "$STAGE$LIBDIR" \
		--argv0 "$argv0" "$STAGE$prog" "$@"
}

# --- root: keep what the guest runs --------------------------------------------

# canon sets CANON to the usr-merged, lexically normalised form of a path
# (no subshell: it runs for every kept file and applet).
canon() { # canon PATH
	local part parts out=()
	IFS=/ read -ra parts <<<"$1"
	for part in "${parts[@]}"; do
		case $part in
		'' | .) ;;
		..) [ "${#out[@]}" -eq 0 ] || unset 'out[-1]' ;;
		*) out+=("$part") ;;
		esac
	done
	case ${out[0]:-} in
	bin | sbin | lib | lib64) out=(usr "${out[@]}") ;;
	esac
	local IFS=/
	CANON="/${out[*]}"
}

# keep copies PATH from the staging tree into the root, with link targets,
# directory contents and the shared libraries ELF files need.
keep() { # keep PATH
	local p src t
	canon "$1"
	p=$CANON
	[ -e "$ROOT$p" ] || [ -L "$ROOT$p" ] && return 0
	src=$STAGE$p
	if [ -L "$src" ]; then
		mkdir -p "$ROOT${p%/*}"
		cp -a "$src" "$ROOT$p"
		t=$(readlink "$src")
		[[ $t == /* ]] || t=${p%/*}/$t
		keep "$t"
	elif [ -d "$src" ]; then
		mkdir -p "$ROOT$p"
		for t in "$src"/*; do keep "${t#"$STAGE"}"; done
	elif [ -f "$src" ]; then
		mkdir -p "$ROOT${p%/*}"
		cp -a "$src" "$ROOT$p"
		local magic=
		LC_ALL=C read -r -n 4 magic <"$src" || true
		if [ "$magic" = $'\x7fELF' ]; then keep_libs "$p"; fi
	else
		die "$p is not in any extracted package (scripts/iso/rootfs.txt)"
	fi
}

keep_libs() { # keep_libs ELF-PATH
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
		for d in "${dirs[@]}" "$LIBDIR" /usr/lib /usr/lib64; do
			if [ -e "$STAGE$d/$lib" ]; then
				keep "$d/$lib"
				found=1
				break
			fi
		done
		[ -n "$found" ] || die "$elf needs $lib, which no extracted package has"
	done
}

# link_applets adds busybox's applet links where no real program is kept.
# Where the staged busybox cannot run, the applets are the host busybox's
# that the staged one names too (its applet table is a run of NUL-terminated
# names).
link_applets() {
	local a names applets
	if [ -n "$NATIVE" ]; then
		applets=$(run_staged busybox /usr/bin/busybox --list-full)
	else
		names=$(strings -n 1 "$STAGE/usr/bin/busybox" | LC_ALL=C sort -u)
		applets=$(/bin/busybox --list-full | while read -r a; do
			if grep -qxF "${a##*/}" <<<"$names"; then echo "$a"; fi
		done)
	fi
	for a in $applets; do
		canon "/$a"
		a=$CANON
		[ -e "$ROOT$a" ] || [ -L "$ROOT$a" ] || ln -s /usr/bin/busybox "$ROOT$a"
	done
}

link_iptables() {
	local t multi=xtables-nft-multi
	case $IPTABLES in
	nft) ;;
	legacy)
		keep /usr/sbin/xtables-legacy-multi
		multi=xtables-legacy-multi
		;;
	*) die "TENDER_IPTABLES must be nft or legacy, got $IPTABLES" ;;
	esac
	for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
		ln -sfn "$multi" "$ROOT/usr/sbin/$t"
	done
}

skeleton() { # the directories, links and files no package provides
	local d
	usrmerge "$ROOT"
	for d in dev proc sys run tmp root home/docker etc/tender etc/ssh media/tender-iso mnt \
		var/lib var/log var/tmp var/cache usr/local/bin; do
		mkdir -p "$ROOT/$d"
	done
	chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"
	chmod 0700 "$ROOT/root"
	chown 1000:1000 "$ROOT/home/docker"
	ln -sfn /run "$ROOT/var/run"
	ln -sfn /proc/self/mounts "$ROOT/etc/mtab"
	cp -a "$ISO_DIR/rootfs/." "$ROOT/"
	sed -i "s/@VERSION@/$VERSION/g" "$ROOT/etc/os-release"
	chown -R 0:0 "$ROOT/etc"
	chmod 0640 "$ROOT/etc/shadow"
	chmod 0440 "$ROOT/etc/sudoers"
	echo "tender" >"$ROOT/etc/hostname"
	echo "$VERSION" >"$ROOT/etc/tender/version"
}

# --- engine: moved out of the root into one xz archive ---------------------------

# pack_engine moves the files of scripts/iso/engine.txt from the root into
# DEST/engine.tar.xz, leaves symlinks into the agent's engine directory in
# their place, and writes DEST/engine.sha256: the archive's content hash, by
# which the agent knows whether its unpacked copy is current (the tar has a
# fixed mtime, so a new commit alone does not make guests unpack again). The
# archive is cached by that hash and the xz options (it takes minutes).
#
# xz options, measured on the 212 MB engine: -9 43.7 MB (-T2 splits it at
# 192 MiB only); --x86 (branch filter) 41.5 MB; --x86 with a 192 MiB
# dictionary 37.4 MB, with 256 MiB 37.1 MB. busybox's unxz cannot read the
# last two (no BCJ filter, 64 MiB dictionary limit), so the guest carries
# Debian's xz (85 kB) and unpacks with it. Decoding needs the dictionary in
# RAM once, at the first boot: 192 MiB fits the smallest guest (512 MiB).
ENGINE_XZ=(--lzma2=preset=9e,dict=192MiB,nice=273 -T1 --check=crc32)
pack_engine() { # pack_engine DEST
	local eng=$WORK/engine p hash cached
	rm -rf "$eng"
	while read -r p; do
		[ -f "$ROOT$p" ] && [ ! -L "$ROOT$p" ] || die "engine file $p is not a regular file in the root"
		mkdir -p "$eng${p%/*}"
		mv "$ROOT$p" "$eng$p"
		ln -s "/var/lib/tender/engine/current$p" "$ROOT$p"
	done < <(arch_list "$ISO_DIR/engine.txt")
	chmod 0755 "$eng" "$eng/usr" "$eng/usr/bin" "$eng/usr/sbin"
	tar -C "$eng" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$WORK/engine.tar" .
	hash=$(sha256sum <"$WORK/engine.tar" | cut -c1-16)
	cached=$CACHE/engine/$hash-$(echo "$ENGINE_BCJ ${ENGINE_XZ[*]}" | sha256sum | cut -c1-8).tar.xz
	mkdir -p "$CACHE/engine"
	if [ ! -f "$cached" ]; then
		# crc32: busybox's unxz in the guest checks it.
		xz "$ENGINE_BCJ" "${ENGINE_XZ[@]}" -c "$WORK/engine.tar" >"$cached.tmp"
		mv "$cached.tmp" "$cached"
	fi
	ls -1t "$CACHE"/engine/*.tar.xz | tail -n +4 | xargs -r rm -f
	cp "$cached" "$1/engine.tar.xz"
	echo "$hash" >"$1/engine.sha256"
	rm -rf "$eng" "$WORK/engine.tar"
	log "engine.tar.xz: $(du -h --apparent-size "$1/engine.tar.xz" | cut -f1)B, hash $hash"
}

# --- kernel modules --------------------------------------------------------------

# module_order prints, for module names, the load order with dependencies
# (modules.dep) and "pre:" soft dependencies (modules.softdep, through
# modules.alias, preferring *_generic: crc32c_intel needs SSE4.2, which QEMU's
# TCG CPU lacks) first, as paths relative to /lib/modules/KVER. Built-ins are
# skipped; an unknown name fails the build.
module_order() { # module_order LISTFILE
	local mods
	mods=$(arch_list "$1" | tr - _)
	awk -v mods="$mods" -v list="$1" '
		function modname(p) { sub(/.*\//, "", p); sub(/\.ko(\.xz|\.zst|\.gz)?$/, "", p); gsub(/-/, "_", p); return p }
		FILENAME ~ /modules\.builtin$/ { builtin[modname($0)] = 1; next }
		FILENAME ~ /modules\.alias$/ {
			m = modname($3)
			if (!($2 in alias) || m ~ /_generic$/) alias[$2] = m
			next
		}
		FILENAME ~ /modules\.softdep$/ {
			for (i = 3; i <= NF && $i != "post:"; i++) if ($i != "pre:") soft[$2] = soft[$2] " " $i
			next
		}
		{
			sub(/:$/, "", $1); name = modname($1); path[name] = $1
			deps[name] = ""
			for (i = 2; i <= NF; i++) deps[name] = deps[name] " " modname($i)
		}
		function resolve(n) { if (n in path || n in builtin) return n; if (n in alias) return alias[n]; gsub(/-/, "_", n); return n }
		function visit(m,   n, d, i, s) {
			if (m in done) return
			done[m] = 1
			if (!(m in path)) {
				if (m in builtin) return
				printf "build-iso: module %s (%s) is not in the kernel\n", m, list > "/dev/stderr"; bad = 1; return
			}
			n = split(soft[m], s, " ")
			for (i = 1; i <= n; i++) visit(resolve(s[i]))
			n = split(deps[m], d, " ")
			for (i = n; i >= 1; i--) visit(d[i])
			p = path[m]; sub(/\.(xz|zst|gz)$/, "", p); print p
		}
		END { n = split(mods, want, "\n"); for (i = 1; i <= n; i++) visit(want[i]); exit bad }
	' "$KMOD/modules.builtin" "$KMOD/modules.alias" "$KMOD/modules.softdep" "$KMOD/modules.dep"
}

# install_modules copies and decompresses the listed modules (finit_module
# gets them without flags; the squashfs or initramfs compresses them).
install_modules() { # install_modules ORDERFILE MODULESDIR
	local rel
	while read -r rel; do
		mkdir -p "$2/${rel%/*}"
		xz -dc "$KMOD/$rel.xz" >"$2/$rel"
	done <"$1"
}

# --- the arch's tools, depmod and boot ----------------------------------------

preflight() { # the tools the build needs (scripts/deps.txt)
	need readelf mksquashfs xorriso cpio xz zstd go
	if [ "$BOOT" = isolinux ]; then
		need /usr/lib/ISOLINUX/isolinux.bin /usr/lib/ISOLINUX/isohdpfx.bin /usr/lib/syslinux/modules/bios/ldlinux.c32
	fi
	# The staged programs cannot run here: the host's depmod and busybox.
	if [ -z "$NATIVE" ]; then need strings depmod /bin/busybox; fi
}

run_depmod() { # run_depmod BASEDIR
	if [ -n "$NATIVE" ]; then
		run_staged depmod /usr/bin/kmod -b "$1" "$KVER"
	else
		depmod -b "$1" "$KVER"
	fi
}

# cmdline prints the kernel command line of scripts/iso/cmdline.txt.
cmdline() {
	arch_list "$ISO_DIR/cmdline.txt" | tr -s ' \n' ' ' | sed 's/ $//'
}

# assemble_iso writes the bootable image from $ISO (tender/ and boot/initrd.img
# are in place) to FILE, with the kernel, and the boot loader BOOT names.
assemble_iso() { # assemble_iso FILE
	case $BOOT in
	isolinux)
		mkdir -p "$ISO/isolinux"
		cp "$STAGE/boot/vmlinuz-$KVER" "$ISO/boot/vmlinuz"
		cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$ISO/isolinux/"
		sed "s|@CMDLINE@|$(cmdline)|" "$ISO_DIR/isolinux.cfg" >"$ISO/isolinux/isolinux.cfg"
		# No padding to a whole cylinder (up to 1 MiB) nor mkisofs's 300 KiB tail
		# (a workaround for Linux read-ahead past the end of old CD drives):
		# tender boots the image as a CD in QEMU (-cdrom) and VirtualBox (SATA
		# DVD), which need neither.
		xorriso -as mkisofs -quiet -o "$1" -V "tender-v$VERSION" -r -J \
			-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
			-isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin -partition_cyl_align off -no-pad "$ISO"
		;;
	kernel)
		# QEMU's -kernel unpacks a gzip Image itself (not xz or zstd).
		gzip -9 -n -c "$STAGE/boot/vmlinuz-$KVER" >"$ISO/boot/vmlinuz"
		log "vmlinuz: $(du -h --apparent-size "$ISO/boot/vmlinuz" | cut -f1)B (gzip)"
		cmdline >"$ISO/boot/cmdline"
		xorriso -as mkisofs -quiet -o "$1" -V "tender-v$VERSION" -r -J -no-pad "$ISO"
		;;
	esac
}

# --- main --------------------------------------------------------------------------

main() {
	[ "$(id -u)" -eq 0 ] || die "run as root (it extracts packages with their owners and makes device nodes)"
	preflight
	local list
	for list in "$ISO_DIR"/*.txt; do
		arch_list "$list" >/dev/null || die "fix the arch names of ${list#"$REPO"/}"
	done
	mkdir -p "$CACHE"

	local key
	key=$(cache_key)
	log "tender-v$VERSION $ARCH, key ${key:0:16}, root squashfs $SQUASHFS_COMP $SQUASHFS_OPTS, initramfs $INITRD_COMP"
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
	local debs=() pkgkey
	pkgkey=$(arch_list "$ISO_DIR/packages.txt" | sha256sum | cut -d' ' -f1)
	[ ! -f "$CACHE/debs.list" ] || mapfile -t debs <"$CACHE/debs.list"
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
	[ -f "$KMOD/modules.dep" ] || run_depmod "$STAGE"

	WORK=$CACHE/work
	rm -rf "$WORK"
	mkdir -p "$WORK"
	ROOT=$WORK/root
	INITRD=$WORK/initramfs
	ISO=$WORK/iso

	phase agent
	local prog
	for prog in tender-agent tender-init; do
		(cd "$REPO" && CGO_ENABLED=0 GOOS=linux GOARCH=$ARCH go build -trimpath \
			-ldflags "-s -w -X main.version=$VERSION" -o "$WORK/$prog" "./agent/cmd/$prog")
	done

	phase root
	mkdir -p "$ROOT"
	skeleton
	local p
	while read -r p; do keep "$p"; done < <(arch_list "$ISO_DIR/rootfs.txt")
	link_iptables
	link_applets
	install -m 0755 "$WORK/tender-agent" "$ROOT/usr/sbin/tender-agent"
	module_order "$ISO_DIR/modules-initramfs.txt" >"$WORK/modules-initramfs"
	# Stage 1 loaded the initramfs's modules, and loaded modules stay: the
	# root carries only the others (a second copy cost ~0.9 MB of ISO).
	module_order "$ISO_DIR/modules.txt" | grep -vxF -f "$WORK/modules-initramfs" >"$ROOT/etc/tender/modules"
	install_modules "$ROOT/etc/tender/modules" "$ROOT/usr/lib/modules/$KVER"
	# Loaded on demand (modules-ondemand.txt): in the root, not in the list.
	module_order "$ISO_DIR/modules-ondemand.txt" | grep -vxF -f "$ROOT/etc/tender/modules" | grep -vxF -f "$WORK/modules-initramfs" >"$WORK/modules-ondemand" || true
	install_modules "$WORK/modules-ondemand" "$ROOT/usr/lib/modules/$KVER"
	cp "$KMOD/modules.order" "$KMOD/modules.builtin" "$KMOD/modules.builtin.modinfo" "$ROOT/usr/lib/modules/$KVER/"
	run_depmod "$ROOT"
	log "root: $(du -sh "$ROOT" | cut -f1)B, $(find "$ROOT" | wc -l) files, $(wc -l <"$ROOT/etc/tender/modules") modules (and $(wc -l <"$WORK/modules-ondemand") on demand)"

	phase engine
	mkdir -p "$ISO/tender" "$ISO/boot"
	pack_engine "$ISO/tender"

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
	echo "$VERSION" >"$ISO/tender/VERSION"
	mkdir -p "$CACHE/iso/$key"
	assemble_iso "$CACHE/iso/$key/$ISO_NAME"
	# Keep the five newest cached ISOs.
	ls -1dt "$CACHE"/iso/*/ | tail -n +6 | xargs -r rm -rf
	publish "$CACHE/iso/$key" "$key"
	[ -n "${TENDER_KEEP_WORK:-}" ] || rm -rf "$WORK"
	phase end
	log "total $(since "$T0")s"
}

main
