#!/bin/bash
# Builds what the cluster runs into $DIR/bin: kube (one multiplexed binary: kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl), pause (the pod
# sandbox's process), mkimage, and the pause image tarball. kube is rebuilt only when this
# module's go.mod, go.sum or cmd/ sources (or the Go version) changed: a cold build takes
# 5 to 9 minutes on 2 cores, so the hash of its inputs is stored beside it.
# Go caches stay in their default places, shared with the provider's builds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
check_host
lock_cluster
mkdir -p "$BIN"

LDFLAGS="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	LDFLAGS="$LDFLAGS -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=33 -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done

inputs_hash() {
	{
		go version
		echo "$LDFLAGS"
		cd "$CLUSTER_SRC" && find go.mod go.sum cmd -type f | LC_ALL=C sort | xargs sha256sum
	} | sha256sum | cut -c1-64
}

T=$(now_ms)
want=$(inputs_hash)
have=$(cat "$BIN/kube.inputs" 2>/dev/null || true)
if [ -x "$BIN/kube" ] && [ -x "$BIN/pause" ] && [ "$want" = "$have" ]; then
	say "kube, pause: up to date"
else
	say "building kube and pause (a cold build takes 5-9 minutes; log in $BIN/build.log)"
	(
		cd "$CLUSTER_SRC"
		go build -trimpath -ldflags "$LDFLAGS" -o "$BIN/kube.new" ./cmd/kube
		go build -trimpath -ldflags "-s -w" -o "$BIN/pause" ./cmd/pause
	) >"$BIN/build.log" 2>&1 || {
		tail -n 30 "$BIN/build.log" >&2
		die "building kube failed (full log: $BIN/build.log)"
	}
	mv -f "$BIN/kube.new" "$BIN/kube"
	echo "$want" >"$BIN/kube.inputs"
	say "kube, pause: built in $(secs "$T")s"
fi
ln -sfn kube "$BIN/kubectl"

# mkimage is the root module's image CLI (standard library only): it writes the pause image.
T=$(now_ms)
(cd "$ROOT" && go build -trimpath -o "$BIN/mkimage" ./hack/mkimage) || die "building hack/mkimage failed"
"$BIN/mkimage" -t "$PAUSE_IMAGE" -o "$BIN/pause.tar" -tmp=false -entrypoint /pause /pause="$BIN/pause" >/dev/null
say "mkimage, pause image: $(secs "$T")s"
