#!/bin/bash
# Builds the project's sidecar image, containerdriver.local/sidecars:dev, from ./sidecars
# (static binaries in /opt/container-driver) and imports it into the local cluster.
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
# package:binary name (contract.SidecarBinDir holds them)
for pb in outputsfetcher:outputsfetcher prechecks:prechecks inigit:inigit runnerhelper:runner-helper; do
	pkg=${pb%%:*} name=${pb#*:}
	if [ ! -d "sidecars/$pkg" ]; then
		[ "$pkg" = runnerhelper ] && continue
		die "./sidecars/$pkg does not exist (yet)"
	fi
	go build -trimpath -o "$out/$name" "./sidecars/$pkg"
	args+=("/opt/container-driver/$name:0755=$out/$name")
done
go run ./hack/mkimage -t "$REF" -o "$DIR/images/sidecars.tar" -user 1000:1000 "${args[@]}"
"$CLUSTER_SRC/image-load.sh" "$DIR/images/sidecars.tar"
say "$REF ready in $(secs "$T")s"
