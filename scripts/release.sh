#!/usr/bin/env bash
# release.sh is `make release`: it cross-builds tender (and tender-net, the
# switch of tender networks, but for Windows) for every platform we ship,
# archives the binaries with the README and licence files that exist,
# makes the source archive and the Homebrew formula that builds it
# (tender.rb, with its checksum), and writes SHA256SUMS, all in out/release/. With --check it only builds
# every package for every platform (no archives): `make cross`, run by
# `make test`, so a platform-specific file cannot break another platform.
#
#   VERSION=0.2.0 ./scripts/release.sh      # default: the VERSION file
#   ./scripts/release.sh --check
set -euo pipefail
cd "$(dirname "$0")/.."

platforms=(darwin/amd64 darwin/arm64 linux/amd64 linux/arm64 windows/amd64)
GO=${GO:-go}
export CGO_ENABLED=0

if [[ ${1:-} == --check ]]; then
	# The guest agent (agent/...) is Linux-only by design; every host
	# package must build everywhere.
	for p in "${platforms[@]}"; do
		goos=${p%/*} goarch=${p#*/}
		pkgs=$(GOOS=$goos GOARCH=$goarch "$GO" list -e -f '{{if .GoFiles}}{{.ImportPath}}{{end}}' ./...)
		if [[ $goos != linux ]]; then
			pkgs=$(grep -v '/agent\(/\|$\)' <<<"$pkgs")
		fi
		echo "go build for $p" >&2
		# shellcheck disable=SC2086
		GOOS=$goos GOARCH=$goarch "$GO" build $pkgs
	done
	exit 0
fi

version=${VERSION:-$(tr -d ' \n' < VERSION 2>/dev/null || echo dev)}
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit+=-dirty
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ldflags="-s -w -X main.version=$version -X main.commit=$commit -X main.date=$date"

# shellcheck source=need.sh
. scripts/need.sh
need zip
out=out/release
rm -rf "$out"
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

extras=()
for f in README.md LICENSE docs/virtualbox.md docs/commands.md docs/tender.1; do
	[[ -e $f ]] && extras+=("$f")
done

for p in "${platforms[@]}"; do
	goos=${p%/*} goarch=${p#*/}
	name=tender_${version}_${goos}_${goarch}
	dir=$stage/$name
	mkdir -p "$dir"
	exe=tender
	[[ $goos == windows ]] && exe=tender.exe
	echo "building $name" >&2
	GOOS=$goos GOARCH=$goarch "$GO" build -trimpath -tags urfave_cli_no_docs -ldflags "$ldflags" -o "$dir/$exe" .
	# tender-net, a tender network's switch, beside tender, where tender
	# looks for it (networks need unix datagram sockets: not on Windows).
	if [[ $goos != windows ]]; then
		GOOS=$goos GOARCH=$goarch "$GO" build -trimpath -ldflags "$ldflags" -o "$dir/tender-net" ./cmd/tender-net
	fi
	((${#extras[@]})) && cp "${extras[@]}" "$dir/"
	if [[ $goos == windows ]]; then
		(cd "$stage" && zip -qr "$OLDPWD/$out/$name.zip" "$name")
	else
		# Reproducible archives: fixed owner, order and times.
		tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner \
			--mtime="@${SOURCE_DATE_EPOCH:-0}" -czf "$out/$name.tar.gz" "$name"
	fi
done

# The source archive the Homebrew formula builds from (what is committed:
# git archive of HEAD, reproducible), and the formula with its checksum.
src=tender-$version
git archive --format=tar --prefix="$src/" HEAD | gzip -n > "$out/$src.tar.gz"
scripts/formula.sh "$version" "$out/$src.tar.gz" > "$out/tender.rb"

(cd "$out" && sha256sum -- *.tar.gz *.zip > SHA256SUMS)
echo "release $version ($commit) in $out:" >&2
cat "$out/SHA256SUMS" >&2
