#!/bin/bash
# Prints the shell settings for the local cluster: eval "$(hack/cluster/env.sh)".
# kubectl is the multiplexed kube binary in $DIR/bin.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
echo "export KUBECONFIG=$ADMIN_KUBECONFIG"
echo "export PATH=$BIN:\$PATH"
