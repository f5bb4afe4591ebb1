#!/bin/bash
# Builds the project's sidecar image, containerdriver.local/sidecars:dev, from ./sidecars
# and ./cmd/runner-helper, and imports it into the local cluster: the multi-call binary
# ./sidecars/sidecar at /opt/container-driver/sidecar with outputsfetcher, prechecks, inigit
# and statekeeper linked to it, and runner-helper (the same contents as
# internal/testsupport/testcluster.SidecarImage).
# SIDECAR_IMAGE=REF names it otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REF=${SIDECAR_IMAGE:-containerdriver.local/sidecars:dev}
cd "$ROOT"
T=$(now_ms)
out=$DIR/images/sidecars
rm -rf "$out"
mkdir -p "$out"
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$out/" ./sidecars/sidecar ./cmd/runner-helper
links=()
# The program names come from the binary itself (sidecar -list), so they cannot drift.
for name in $("$out/sidecar" -list); do
	links+=(-symlink "/opt/container-driver/$name=sidecar")
done
go run ./hack/mkimage -t "$REF" -o "$DIR/images/sidecars.tar" -user 1000:1000 "${links[@]}" \
	/opt/container-driver/sidecar:0755="$out/sidecar" /opt/container-driver/runner-helper:0755="$out/runner-helper"
"$CLUSTER_SRC/image-load.sh" "$DIR/images/sidecars.tar"
say "$REF ready in $(secs "$T")s ($(du -b "$out/sidecar" "$out/runner-helper" | awk '{s+=$1} END {printf "%.1f MB", s/1e6}') of binaries)"
