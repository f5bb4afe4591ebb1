#!/bin/bash
# Builds the shell runner image on a machine without Docker, with the project's image
# tool: Debian's statically linked BusyBox, a link for the shell and each command
# runner.sh uses, and the script.
#
#   templates/shell/build.sh [OUT.tar]      then: make image-load TAR=OUT.tar
#
# Environment: BUSYBOX (default /bin/busybox, from: apt-get install busybox-static),
# IMAGE (the reference; default containerdriver.local/shell-runner:dev).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${CONTAINERDRIVER_CLUSTER_DIR:-/var/tmp/containerdriver-cluster}
BUSYBOX=${BUSYBOX:-/bin/busybox}
IMAGE=${IMAGE:-containerdriver.local/shell-runner:dev}
OUT=${1:-$DIR/images/shell-runner.tar}

if [ ! -x "$BUSYBOX" ]; then
	echo "build.sh: no BusyBox at $BUSYBOX: apt-get install -y busybox-static" >&2
	exit 1
fi
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	echo "build.sh: $BUSYBOX is dynamically linked; install busybox-static" >&2
	exit 1
fi
OUT=$(realpath -m "$OUT")
mkdir -p "$(dirname "$OUT")"
links=()
for applet in sh cat cut ls rm sed sha256sum tr; do
	links+=(-symlink "/bin/$applet=busybox")
done
cd "$ROOT"
go run ./hack/mkimage -t "$IMAGE" -o "$OUT" \
	-entrypoint /runner.sh -user 1000:1000 -env HOME=/tmp \
	-label org.opencontainers.image.title=shell-runner \
	/bin/busybox:0755="$BUSYBOX" /runner.sh:0755="$HERE/runner.sh" "${links[@]}"
echo "build.sh: $IMAGE written to $OUT"
