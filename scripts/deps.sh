#!/bin/sh
# deps.sh installs what building tender, its ISOs, its tests and its
# benchmarks needs on a Debian or Ubuntu machine: the packages of
# scripts/deps.txt whose program or file is missing (with apt-get, through
# sudo unless root), then its go install lines (staticcheck). It installs only
# what is missing, so `make` can call it every time. The scripts check for
# their tools with need (scripts/need.sh), against the same list.
set -eu
. "$(dirname "$0")/need.sh"

apt_pkgs=""
go_pkgs=""
manual=""
while read -r pkg tool _; do
	case $pkg in '' | '#'*) continue ;; esac
	deps_installed "$tool" && continue
	case $pkg in
	-) manual="$manual $tool" ;;
	go:*) go_pkgs="$go_pkgs $tool=${pkg#go:}" ;;
	*)
		case " $apt_pkgs " in *" $pkg "*) ;; *) apt_pkgs="$apt_pkgs $pkg" ;; esac
		;;
	esac
done <"$DEPS_TXT"

# Go is not Debian's here (too old): say so before anything is installed.
if [ -n "$manual" ]; then
	# shellcheck disable=SC2086 # one word a tool
	need $manual
fi

if [ -n "$apt_pkgs" ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	echo "deps: installing$apt_pkgs" >&2
	$SUDO apt-get update -qq
	# docker.io is wanted only for its CLI; never start its daemon here.
	# shellcheck disable=SC2086 # one word a package
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $apt_pkgs >/dev/null
fi

# go install puts programs in GOPATH/bin, which the Makefile puts on PATH.
GOBIN="$(go env GOPATH)/bin"
for p in $go_pkgs; do
	tool=${p%%=*}
	[ ! -x "$GOBIN/$tool" ] || continue
	echo "deps: installing $tool" >&2
	go install "${p#*=}"
done
