#!/bin/bash
# bench-floor.sh measures the bare-kernel floor the boot-time target is set
# against: the ISO's own kernel with a busybox-static initramfs whose /init
# powers off at once, booted with the same QEMU flags as the guest (TCG, the
# same memory and CPUs, -no-reboot). It prints the wall time from QEMU's start
# to its exit, median of TENDER_BENCH_RUNS (3) runs.
#
#   scripts/bench-floor.sh [ISO]          floor only (ISO: out/tender.iso)
#   TENDER_BENCH_UNTIL=REGEX scripts/bench-floor.sh
#       also boots the ISO itself and times QEMU's start to the first serial
#       line matching REGEX, e.g. 'tender-agent: phase switch-root'.
#
# TENDER_BENCH_QEMU overrides the shared QEMU flags. TENDER_BENCH_ARCH=arm64
# measures an arm64 image (out/tender-arm64.iso) the way tender boots it:
# qemu-system-aarch64 with the image's /boot/vmlinuz and /boot/cmdline, and
# Debian's arm64 busybox-static (fetched with the arm64 build's apt
# directory). Run one benchmark at a time: QEMU under TCG competes for the
# CPUs with everything else.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
ARCH=${TENDER_BENCH_ARCH:-amd64}
case $ARCH in
amd64) QEMU=qemu-system-x86_64 ISO=${1:-$REPO/out/tender.iso} ;;
arm64) QEMU=qemu-system-aarch64 ISO=${1:-$REPO/out/tender-arm64.iso} ;;
*) echo "bench-floor: TENDER_BENCH_ARCH must be amd64 or arm64, got $ARCH" >&2; exit 1 ;;
esac
RUNS=${TENDER_BENCH_RUNS:-3}
read -ra QEMU_FLAGS <<<"${TENDER_BENCH_QEMU:--accel tcg -m 1024 -smp 2 -display none -no-reboot -nodefaults}"
TIMEOUT=${TENDER_BENCH_TIMEOUT:-300}

log() { printf 'bench-floor: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -f "$ISO" ] || die "$ISO not found (run \`make iso\`)"
# shellcheck source=need.sh
. "$REPO/scripts/need.sh"
need xorriso cpio readelf
case $ARCH in
amd64) need qemu-system-x86_64 /bin/busybox ;;
arm64) need qemu-system-aarch64 ;;
esac
if [ "$ARCH" = amd64 ]; then
	BUSYBOX=/bin/busybox
	! readelf -l "$(readlink -f "$BUSYBOX")" 2>/dev/null | grep -q INTERP ||
		die "$BUSYBOX is not static: the floor's initramfs needs Debian's busybox-static (it replaces the busybox package)"
fi

WORK=$(mktemp -d)
QPID=
cleanup() {
	[ -z "$QPID" ] || kill "$QPID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# The ISO's kernel and command line, so the floor is the same kernel booted
# the same way (less ISOLINUX and the initramfs work).
if [ "$ARCH" = amd64 ]; then
	xorriso -osirrox on -indev "$ISO" -extract /boot/vmlinuz "$WORK/vmlinuz" \
		-extract /isolinux/isolinux.cfg "$WORK/isolinux.cfg" >/dev/null 2>&1 ||
		die "cannot extract the kernel from $ISO"
	CMDLINE=$(sed -n 's/^[[:space:]]*APPEND[[:space:]]*//p' "$WORK/isolinux.cfg" | head -1)
else
	xorriso -osirrox on -indev "$ISO" -extract /boot/vmlinuz "$WORK/vmlinuz" \
		-extract /boot/cmdline "$WORK/cmdline" >/dev/null 2>&1 ||
		die "cannot extract the kernel from $ISO (is it tender-arm64.iso?)"
	CMDLINE=$(cat "$WORK/cmdline")
	APT=${TENDER_BUILD_CACHE:-/var/cache/tender-build}/arm64/apt
	[ -f "$APT/etc/apt/sources.list" ] || die "$APT is missing (run make iso-arm64)"
	(cd "$WORK" && apt-get -o "Dir=$APT" -o "Dir::State::status=$APT/var/lib/dpkg/status" -o Debug::NoLocking=1 \
		-o APT::Architecture=arm64 -o APT::Architectures=arm64 -qq download busybox-static >/dev/null) ||
		die "cannot fetch Debian's arm64 busybox-static"
	dpkg-deb -x "$WORK"/busybox-static_*_arm64.deb "$WORK/deb"
	BUSYBOX=$WORK/deb/usr/bin/busybox
fi

mkdir -p "$WORK/initramfs/bin" "$WORK/initramfs/dev"
cp "$BUSYBOX" "$WORK/initramfs/bin/busybox"
printf '#!/bin/busybox sh\n/bin/busybox poweroff -f\n' >"$WORK/initramfs/init"
chmod 0755 "$WORK/initramfs/init"
(cd "$WORK/initramfs" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.img"

# boot_time prints the seconds from QEMU's start until it exits or, with a
# regex, until its serial output matches it.
boot_time() { # boot_time REGEX QEMU-ARGS...
	local until=$1 start now log=$WORK/serial.log
	shift
	: >"$log"
	start=$(date +%s.%N)
	"$QEMU" "${QEMU_FLAGS[@]}" -serial "file:$log" "$@" 2>>"$WORK/qemu.err" &
	QPID=$!
	while kill -0 "$QPID" 2>/dev/null; do
		if [ -n "$until" ] && grep -qaE "$until" "$log"; then
			break
		fi
		if [ "$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { print (n - s > '"$TIMEOUT"') }')" = 1 ]; then
			kill "$QPID"
			die "no result after ${TIMEOUT}s; serial log tail: $(tail -3 "$log")"
		fi
		sleep 0.05
	done
	now=$(date +%s.%N)
	kill "$QPID" 2>/dev/null || true
	wait "$QPID" 2>/dev/null || true
	QPID=
	if [ -n "$until" ] && ! grep -qaE "$until" "$log"; then
		die "QEMU exited before /$until/; serial log tail: $(tail -3 "$log")"
	fi
	awk -v s="$start" -v n="$now" 'BEGIN { printf "%.2f\n", n - s }'
}

median() { tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

measure() { # measure NAME REGEX QEMU-ARGS...
	local name=$1 times=() i
	shift
	for ((i = 1; i <= RUNS; i++)); do
		times+=("$(boot_time "$@")")
		log "$name run $i: ${times[-1]}s"
	done
	echo "$name: $(echo "${times[*]}" | median)s (median of $RUNS: ${times[*]})"
}

log "kernel and command line of $ISO: $CMDLINE"
log "QEMU ${QEMU_FLAGS[*]}"
measure floor "" -kernel "$WORK/vmlinuz" -initrd "$WORK/initrd.img" -append "$CMDLINE"
if [ -n "${TENDER_BENCH_UNTIL:-}" ]; then
	measure "iso to /$TENDER_BENCH_UNTIL/" "$TENDER_BENCH_UNTIL" -cdrom "$ISO"
fi
