#!/bin/sh
# busybox-image-arm64.sh imports a busybox:latest image into the (arm64)
# docker engine the environment points at, built from Debian's arm64
# busybox-static, downloaded with apt for arm64 (no registry is needed). The
# arm64 busybox cannot run here, so the applet links are the host busybox's
# applets. It does nothing when the image is already there. Run after
# scripts/build-iso-arm64.sh, whose apt directory it reuses.
set -eu
. "$(dirname "$0")/need.sh"
if docker image inspect busybox:latest >/dev/null 2>&1; then
	exit 0
fi
APT=${TENDER_BUILD_CACHE:-/var/cache/tender-build}/arm64/apt
[ -f "$APT/etc/apt/sources.list" ] || { echo "busybox-image-arm64: $APT is missing (run make iso ARCH=arm64)" >&2; exit 1; }
need /bin/busybox
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get -o "Dir=$APT" -o "Dir::State::status=$APT/var/lib/dpkg/status" -o Debug::NoLocking=1 \
	-o APT::Architecture=arm64 -o APT::Architectures=arm64 -qq download busybox-static >/dev/null)
dpkg-deb -x "$work"/busybox-static_*_arm64.deb "$work/deb"
root=$work/root
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/var/www"
cp "$work/deb/usr/bin/busybox" "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
tar -C "$root" -c . | docker import -c 'CMD ["sh"]' - busybox:latest >/dev/null
echo "busybox-image-arm64: imported busybox:latest from Debian's arm64 busybox-static" >&2
