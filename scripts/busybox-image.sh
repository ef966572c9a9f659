#!/bin/sh
# busybox-image.sh imports a busybox:latest image into the docker engine the
# environment points at, built from Debian's busybox-static (no registry is
# needed). It does nothing when the image is already there.
#
#   scripts/busybox-image.sh [--arch amd64|arm64]    the engine's arch (amd64)
#
# For the host's arch the busybox is the host's /bin/busybox. For another
# (arm64 on amd64) it is Debian's busybox-static for that arch, downloaded
# with the apt directory of `scripts/build-iso.sh --arch ARCH` (make
# iso-arm64), and as it cannot run here, the applet links are the host
# busybox's applets.
set -eu
. "$(dirname "$0")/need.sh"
arch=amd64
case ${1:-} in
'') ;;
--arch) arch=${2:-} ;;
--arch=*) arch=${1#--arch=} ;;
*) echo "busybox-image: usage: busybox-image.sh [--arch amd64|arm64], got $1" >&2; exit 1 ;;
esac
case $arch in
amd64 | arm64) ;;
*) echo "busybox-image: --arch must be amd64 or arm64, got ${arch:-nothing}" >&2; exit 1 ;;
esac
if docker image inspect busybox:latest >/dev/null 2>&1; then
	exit 0
fi
need /bin/busybox
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
	bb=/bin/busybox
	from=$bb
else
	# build-iso.sh's apt directory for the arch (its cache layout).
	APT=${TENDER_BUILD_CACHE:-/var/cache/tender-build}/$arch/apt
	[ -f "$APT/etc/apt/sources.list" ] || { echo "busybox-image: $APT is missing (run scripts/build-iso.sh --arch $arch)" >&2; exit 1; }
	(cd "$work" && apt-get -o "Dir=$APT" -o "Dir::State::status=$APT/var/lib/dpkg/status" -o Debug::NoLocking=1 \
		-o "APT::Architecture=$arch" -o "APT::Architectures=$arch" -qq download busybox-static >/dev/null)
	dpkg-deb -x "$work"/busybox-static_*_"$arch".deb "$work/deb"
	bb=$work/deb/usr/bin/busybox
	from="Debian's $arch busybox-static"
fi
root=$work/root
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/var/www"
cp "$bb" "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
tar -C "$root" -c . | docker import -c 'CMD ["sh"]' - busybox:latest >/dev/null
echo "busybox-image: imported busybox:latest from $from" >&2
