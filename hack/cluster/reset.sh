#!/bin/bash
# Stops the cluster and wipes its state (etcd data, images, certificates, logs); the
# binaries in $DIR/bin are kept, so the next up.sh does not rebuild them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
lock_cluster
"$CLUSTER_SRC/down.sh"
[ -d "$DIR" ] || exit 0
find "$DIR" -mindepth 1 -maxdepth 1 ! -name bin ! -name .lock -exec rm -rf {} +
say "state wiped; kept $BIN"
