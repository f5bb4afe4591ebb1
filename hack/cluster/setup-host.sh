#!/bin/bash
# One-time host setup: installs the Debian packages the local cluster and the project's
# tests need, only those that are missing (apt-get update runs only then). Needs root.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root

# containerd/runc/CNI run the cluster (etcd is built from hack/etcd: etcd.sh); busybox-static
# and git are used by the project's runner images and git-source tests; curl, iproute2 by
# the scripts.
PACKAGES=(containerd runc containernetworking-plugins iptables conntrack
	openssl curl iproute2 ca-certificates busybox-static git)

missing=()
for p in "${PACKAGES[@]}"; do
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} = 0 ]; then
	say "host packages: all present"
	exit 0
fi
T=$(now_ms)
say "installing: ${missing[*]}"
# No init system manages these daemons here: keep the packages from starting their own
# containerd (it would take the cluster's ports), unless a policy is already set.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
say "host packages installed in $(secs "$T")s"
