#!/bin/sh
# make-up.sh is `make up`: with tender and the ISO built, it creates the
# default machine if needed (or gives an existing one the new image), boots
# it, and proves Docker works by running
# busybox. TENDER_HOME and TENDER_VM are honoured.
set -eu
tender=./bin/tender
name=${TENDER_VM:-default}
home=${TENDER_HOME:-$HOME/.tender}
if [ ! -e "$home/machines/$name/machine.yaml" ]; then
	$tender init --iso out/tender.iso
else
	# A machine made from an older build boots this one, as upgrade does
	# (nothing happens when the image is the same).
	$tender upgrade --iso out/tender.iso
fi
$tender up
eval "$($tender shellinit)"
./scripts/busybox-image.sh
docker run --rm busybox echo hello world
cat >&2 <<MSG

tender is running. To use it from your shell:
    export PATH="$(pwd)/bin:\$PATH"      # or: sudo install bin/tender /usr/local/bin/
    eval "\$(tender shellinit)"         # add this line to ~/.bashrc or ~/.zshrc
    docker ps
Stop it with \`tender down\`; see \`tender help\` for the rest.
MSG
