#!/bin/bash
# Imports docker-archive image tarballs (hack/mkimage, docker save, podman save) into the
# local cluster's containerd, where pods find them with imagePullPolicy IfNotPresent or
# Never. Usage: image-load.sh IMAGE.tar...
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ $# -gt 0 ] || die "usage: image-load.sh IMAGE.tar... (make image-load TAR=IMAGE.tar)"
pid_of containerd >/dev/null && [ -S "$SOCK" ] || die "the local cluster's containerd is not running: make cluster-up"
for tar in "$@"; do
	[ -f "$tar" ] || die "no such file: $tar"
	T=$(now_ms)
	ctr_k8s images import "$tar" | sed 's/^/cluster: /' || die "importing $tar failed"
	say "imported $tar in $(secs "$T")s"
done
