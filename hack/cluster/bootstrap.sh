#!/bin/bash
# What make demo and make test need before they start, so that each is the only command on
# a fresh machine:
#
#   1. the Debian packages (hack/cluster/setup-host.sh, as root, only when one is missing);
#   2. the local cluster, when KUBECONFIG is not set (make cluster-up: builds kube when
#      needed, returns at once when the cluster already answers).
#
#   bootstrap.sh           both
#   bootstrap.sh packages  only the packages (demo.sh brings the cluster up itself)
#
# OpenTofu is built by the callers (hack/cluster/tofu.sh), which know whether they need it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
what=${1:-all}
case $what in all | packages) ;; *) die "usage: bootstrap.sh [all|packages]" ;; esac

# The packages setup-host.sh installs, read from it so the two lists cannot disagree.
packages() {
	sed -n '/^PACKAGES=(/,/)/p' "$CLUSTER_SRC/setup-host.sh" | tr -d '()' | sed 's/^PACKAGES=//' | tr -s ' \t' '\n' | grep -v '^$'
}
missing_packages() {
	local p
	command -v dpkg-query >/dev/null || return 0
	for p in $(packages); do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || echo "$p"
	done
}

local_cluster=1
[ -z "${KUBECONFIG:-}" ] || [ "$KUBECONFIG" = "$ADMIN_KUBECONFIG" ] || local_cluster=0

mapfile -t missing < <(missing_packages)
if [ ${#missing[@]} != 0 ]; then
	if [ "$(id -u)" = 0 ]; then
		say "missing Debian packages: ${missing[*]}: installing them as root (hack/cluster/setup-host.sh, make setup-host)"
		"$CLUSTER_SRC/setup-host.sh"
	elif [ $local_cluster = 1 ]; then
		die "missing Debian packages: ${missing[*]}; installing them and running the local cluster needs root: run this as root (or make setup-host as root, then again)"
	else
		say "WARNING: missing Debian packages: ${missing[*]} (not root, so not installing them; make setup-host as root does)"
	fi
fi
command -v go >/dev/null || die "go is not installed (expected in /usr/local/go/bin or on PATH)"

[ "$what" = all ] || exit 0
# A KUBECONFIG that is set (even the local cluster's) is used as it is.
if [ -z "${KUBECONFIG:-}" ]; then
	healthy 2>/dev/null || say "KUBECONFIG is not set: bringing up the local cluster (make cluster-up; the first time builds Kubernetes: 5-9 minutes)"
	"$CLUSTER_SRC/up.sh"
fi
