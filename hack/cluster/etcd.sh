#!/bin/bash
# Builds etcd $ETCD_VERSION (the release hack/etcd/go.mod requires) into $BIN/etcd-V for
# the local cluster. Skipped when the binary already reports that version. Takes 1 to 3
# minutes cold. Debian 12's etcd-server (3.4.23) is not used: it lacks the
# RequestWatchProgress feature, so Kubernetes 1.37's API server refused the watch-list
# streams of pods and Jobs that client-go asks for first, and the suite never saw the
# streaming path a real cluster of that version serves.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SRC=$ROOT/hack/etcd
[ -n "$ETCD_VERSION" ] || die "hack/etcd/go.mod requires no go.etcd.io/etcd/server/v3"
built_version() { "$ETCD" --version 2>/dev/null | sed -n 's/^etcd Version: \(.*\)$/v\1/p'; }
if [ -x "$ETCD" ] && [ "$(built_version)" = "$ETCD_VERSION" ]; then
	say "etcd $ETCD_VERSION: up to date ($ETCD)"
	exit 0
fi
mkdir -p "$BIN"
T=$(now_ms)
say "building etcd $ETCD_VERSION from hack/etcd/go.mod (1-3 minutes cold)"
out=$(mktemp "$BIN/.etcd.XXXXXX")
trap 'rm -f "$out"' EXIT
(cd "$SRC" && go build -trimpath -ldflags "-s -w" -o "$out" .) || die "building etcd $ETCD_VERSION failed"
chmod 0755 "$out"
mv -f "$out" "$ETCD"
[ "$(built_version)" = "$ETCD_VERSION" ] || die "the new etcd reports version '$(built_version)', want $ETCD_VERSION"
say "etcd $ETCD_VERSION: built in $(secs "$T")s ($ETCD)"
