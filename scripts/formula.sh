#!/usr/bin/env bash
# formula.sh writes the Homebrew formula of a release to stdout:
# packaging/homebrew/tender.rb with its url set to the release's source
# archive and its sha256 to that archive's checksum. release.sh calls it.
#
#   scripts/formula.sh VERSION out/release/tender-VERSION.tar.gz > tender.rb
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: formula.sh VERSION ARCHIVE}
archive=${2:?usage: formula.sh VERSION ARCHIVE}
sum=$(sha256sum "$archive" | cut -d' ' -f1)
url="https://github.com/tenderdev/tender/releases/download/v$version/$(basename "$archive")"
sed -e "s|^  url \".*\"\$|  url \"$url\"|" \
	-e "s|^  sha256 \".*\"\$|  sha256 \"$sum\"|" packaging/homebrew/tender.rb > "$archive.rb.tmp"
# Both lines must have been replaced: a template that changed shape fails here.
grep -qx "  url \"$url\"" "$archive.rb.tmp" && grep -qx "  sha256 \"$sum\"" "$archive.rb.tmp" || {
	rm -f "$archive.rb.tmp"
	echo "formula.sh: packaging/homebrew/tender.rb has no url or sha256 line to set" >&2
	exit 1
}
cat "$archive.rb.tmp"
rm -f "$archive.rb.tmp"
