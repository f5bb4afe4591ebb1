#!/bin/bash
# Builds what the cluster runs at Kubernetes $KUBE_VERSION (CONTAINERDRIVER_KUBE_VERSION,
# default: the release of hack/cluster/go.mod) into $BIN/k8s/$KUBE_VERSION: kube (one
# multiplexed binary: kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
# kube-proxy, kubectl) and pause (the pod sandbox's process); then mkimage and the pause
# image tarball into $BIN. kube is rebuilt only when its module file, go.sum or cmd/ sources
# (or the Go version) changed: a cold build takes 5 to 12 minutes on 2 cores, so the hash of
# its inputs is stored beside it. Every version keeps its own binaries: switching versions
# rebuilds nothing, and building one never touches the binaries a running cluster uses.
# Go caches stay in their default places, shared with the provider's builds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
check_host
MODFILE=$(kube_modfile)
[ -f "$CLUSTER_SRC/$MODFILE" ] || die "no module file for Kubernetes $KUBE_VERSION: write it with hack/cluster/kube-mod.sh $KUBE_VERSION (then commit hack/cluster/versions/$KUBE_VERSION.{mod,sum})"
SUMFILE=${MODFILE%.mod}.sum
# The build writes only into $KUBE_BIN, never the binaries of another version, so it needs
# no lock of the cluster: a cluster can run (and be restarted) while another version builds.
mkdir -p "$KUBE_BIN"
exec 8>>"$KUBE_BIN/.lock"
flock -w 1800 8 || die "another build of $KUBE_VERSION still holds $KUBE_BIN/.lock after 30 minutes"

MINOR=$(cut -d. -f2 <<<"$KUBE_VERSION")
LDFLAGS="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	LDFLAGS="$LDFLAGS -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done

inputs_hash() {
	{
		go version
		echo "$LDFLAGS"
		cd "$CLUSTER_SRC" && { echo "$MODFILE" "$SUMFILE"; find cmd -type f; } | xargs -n1 | LC_ALL=C sort | xargs sha256sum
	} | sha256sum | cut -c1-64
}

T=$(now_ms)
want=$(inputs_hash)
have=$(cat "$KUBE_BIN/kube.inputs" 2>/dev/null || true)
if [ -x "$KUBE_BIN/kube" ] && [ -x "$KUBE_BIN/pause" ] && [ "$want" = "$have" ]; then
	say "kube $KUBE_VERSION, pause: up to date"
else
	say "building kube $KUBE_VERSION and pause from hack/cluster/$MODFILE (a cold build takes 5-12 minutes; log in $KUBE_BIN/build.log)"
	(
		cd "$CLUSTER_SRC"
		go build -modfile="$MODFILE" -trimpath -ldflags "$LDFLAGS" -o "$KUBE_BIN/kube.new" ./cmd/kube
		go build -modfile="$MODFILE" -trimpath -ldflags "-s -w" -o "$KUBE_BIN/pause" ./cmd/pause
	) >"$KUBE_BIN/build.log" 2>&1 || {
		tail -n 30 "$KUBE_BIN/build.log" >&2
		die "building kube $KUBE_VERSION failed (full log: $KUBE_BIN/build.log)"
	}
	mv -f "$KUBE_BIN/kube.new" "$KUBE_BIN/kube"
	echo "$want" >"$KUBE_BIN/kube.inputs"
	say "kube $KUBE_VERSION, pause: built in $(secs "$T")s"
fi
ln -sfn kube "$KUBE_BIN/kubectl"

# mkimage is the root module's image CLI (standard library only): it writes the pause image.
T=$(now_ms)
(cd "$ROOT" && go build -trimpath -o "$BIN/mkimage" ./hack/mkimage) || die "building hack/mkimage failed"
"$BIN/mkimage" -t "$PAUSE_IMAGE" -o "$KUBE_BIN/pause.tar" -tmp=false -entrypoint /pause /pause="$KUBE_BIN/pause" >/dev/null
say "mkimage, pause image: $(secs "$T")s"

# etcd, shared by every Kubernetes version (hack/etcd/go.mod).
"$CLUSTER_SRC/etcd.sh"
