#!/bin/bash
# Builds the project's sidecar image, containerdriver.local/sidecars:dev, from ./sidecars
# (static binaries in /opt/container-driver) and imports it into the local cluster.
# SIDECAR_IMAGE=REF names it otherwise.
# The tests build their own content-tagged copy (internal/testcluster.SidecarImage).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REF=${SIDECAR_IMAGE:-containerdriver.local/sidecars:dev}
cd "$ROOT"
T=$(now_ms)
out=$DIR/images/sidecars
rm -rf "$out"
mkdir -p "$out"
args=()
# outputsfetcher, prechecks and inigit are required; every other sidecar (a main.go under
# ./sidecars/DIR) goes to /opt/container-driver/DIR, runnerhelper as runner-helper, the
# same contents as internal/testcluster.SidecarImage.
for req in outputsfetcher prechecks inigit; do
	[ -f "sidecars/$req/main.go" ] || die "./sidecars/$req does not exist (yet)"
done
pkgs=()
for m in sidecars/outputsfetcher/main.go sidecars/prechecks/main.go sidecars/inigit/main.go sidecars/*/main.go; do
	d=$(basename "$(dirname "$m")")
	[[ " ${pkgs[*]} " == *" ./sidecars/$d "* ]] || pkgs+=("./sidecars/$d")
done
go build -trimpath -ldflags="-s -w" -o "$out/" "${pkgs[@]}"
for p in "${pkgs[@]}"; do
	d=${p##*/} name=${p##*/}
	[ "$d" = runnerhelper ] && name=runner-helper
	args+=("/opt/container-driver/$name:0755=$out/$d")
done
go run ./hack/mkimage -t "$REF" -o "$DIR/images/sidecars.tar" -user 1000:1000 "${args[@]}"
"$CLUSTER_SRC/image-load.sh" "$DIR/images/sidecars.tar"
say "$REF ready in $(secs "$T")s"
