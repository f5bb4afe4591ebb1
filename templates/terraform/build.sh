#!/bin/bash
# Builds the Terraform runner image on a machine without Docker, with the project's image
# tool: the layout of the Dockerfile beside this script, from this machine's terraform binary
# and the runner helper built from source. Both are static Go binaries and need nothing
# else in the image.
#
#   templates/terraform/build.sh [OUT.tar]      then: make image-load TAR=OUT.tar
#
# Environment: TERRAFORM (a statically linked terraform; default: the one in PATH),
# IMAGE (the reference; default containerdriver.local/terraform-runner:dev).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=${CONTAINERDRIVER_CLUSTER_DIR:-/var/tmp/containerdriver-cluster}
TERRAFORM=${TERRAFORM:-$(command -v terraform || true)}
IMAGE=${IMAGE:-containerdriver.local/terraform-runner:dev}
OUT=${1:-$DIR/images/terraform-runner.tar}

[ -x "$TERRAFORM" ] || { echo "build.sh: no terraform binary at $TERRAFORM (set TERRAFORM)" >&2; exit 1; }
# A dynamically linked binary would not find its C library in the image.
if ldd "$TERRAFORM" >/dev/null 2>&1; then
	echo "build.sh: $TERRAFORM is dynamically linked; build it with CGO_ENABLED=0" >&2
	exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
OUT=$(realpath -m "$OUT")
mkdir -p "$(dirname "$OUT")"
cd "$ROOT"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/runner-helper" ./cmd/runner-helper
certs=()
[ -f /etc/ssl/certs/ca-certificates.crt ] && certs=(/etc/ssl/certs/ca-certificates.crt:0644=/etc/ssl/certs/ca-certificates.crt)
go run ./hack/mkimage -t "$IMAGE" -o "$OUT" \
	-entrypoint '["/usr/local/bin/runner-helper", "terraform"]' -user 1000:1000 \
	-env HOME=/tmp -env TF_IN_AUTOMATION=1 \
	-label org.opencontainers.image.title=terraform-runner \
	/usr/local/bin/terraform:0755="$TERRAFORM" \
	/usr/local/bin/runner-helper:0755="$work/runner-helper" \
	"${certs[@]}"
echo "build.sh: $IMAGE written to $OUT"
