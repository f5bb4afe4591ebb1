# shellcheck shell=bash
# Settings and helpers shared by the cluster scripts. Sourced, never run.
#
# Everything the cluster writes lives in $DIR (outside the work tree, so a fresh clone on
# the same machine finds the same cluster). $DIR/bin holds the binaries and survives a
# reset; the rest is state.
#
# The Kubernetes version is CONTAINERDRIVER_KUBE_VERSION, by default the k8s.io/kubernetes
# release of hack/cluster/go.mod. Other versions build from hack/cluster/versions/V.mod
# (written by kube-mod.sh). Each version's binaries live in $BIN/k8s/V, so switching
# versions rebuilds nothing that was built before.

DIR=${CONTAINERDRIVER_CLUSTER_DIR:-/var/tmp/containerdriver-cluster}
DIR=${DIR%/}
BIN=$DIR/bin
CLUSTER_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$CLUSTER_SRC/../.." && pwd)

# default_kube_version: the k8s.io/kubernetes release hack/cluster/go.mod requires.
default_kube_version() { awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v1\./ {print $2; exit}' "$CLUSTER_SRC/go.mod"; }
KUBE_VERSION=${CONTAINERDRIVER_KUBE_VERSION:-$(default_kube_version)}
[[ $KUBE_VERSION =~ ^v1\.[0-9]+\.[0-9]+$ ]] || {
	echo "cluster: ERROR: CONTAINERDRIVER_KUBE_VERSION=$KUBE_VERSION: want a release such as v1.37.2" >&2
	exit 1
}
# kube_modfile: the module file that builds KUBE_VERSION, relative to $CLUSTER_SRC.
kube_modfile() {
	if [ "$KUBE_VERSION" = "$(default_kube_version)" ]; then
		echo go.mod
	else
		echo "versions/$KUBE_VERSION.mod"
	fi
}
KUBE_BIN=$BIN/k8s/$KUBE_VERSION

# OpenTofu for the acceptance tests: CONTAINERDRIVER_TOFU_VERSION, by default the release
# hack/tofu/go.mod requires (built into $BIN/tofu); another version builds from
# hack/tofu/versions/V.mod (tofu-mod.sh) into $BIN/tofu-V.
default_tofu_version() { awk '$1 == "github.com/opentofu/opentofu" {print $2; exit}' "$ROOT/hack/tofu/go.mod"; }
TOFU_VERSION=${CONTAINERDRIVER_TOFU_VERSION:-$(default_tofu_version)}
[[ $TOFU_VERSION =~ ^v1\.[0-9]+\.[0-9]+$ ]] || {
	echo "cluster: ERROR: CONTAINERDRIVER_TOFU_VERSION=$TOFU_VERSION: want a release such as v1.12.6" >&2
	exit 1
}
if [ "$TOFU_VERSION" = "$(default_tofu_version)" ]; then
	TOFU_MODFILE=go.mod TOFU=$BIN/tofu
else
	TOFU_MODFILE=versions/$TOFU_VERSION.mod TOFU=$BIN/tofu-$TOFU_VERSION
fi
# etcd: the release hack/etcd/go.mod requires, built from the Go module proxy into
# $BIN/etcd-V (etcd.sh), not Debian's etcd-server (3.4).
ETCD_VERSION=$(awk '{for (i = 1; i < NF; i++) if ($i == "go.etcd.io/etcd/server/v3") {print $(i + 1); exit}}' "$ROOT/hack/etcd/go.mod" 2>/dev/null || true)
ETCD=$BIN/etcd-$ETCD_VERSION
NODE=containerdriver-node
SOCK=$DIR/run/containerd.sock
KUBE=$KUBE_BIN/kube
# The version of the running cluster's binaries (up.sh writes it; state of a run).
RUNNING_VERSION_FILE=$DIR/run/kube-version
# The version whose objects etcd holds: another version starts from empty state.
STATE_VERSION_FILE=$DIR/etcd/kube-version
# The etcd release that wrote etcd's data: another one starts from empty state too (etcd
# 3.6 does not read the data of 3.4; the local cluster's objects are disposable).
STATE_ETCD_FILE=$DIR/etcd/etcd-version
ADMIN_KUBECONFIG=$DIR/kubeconfig/admin.kubeconfig
PAUSE_IMAGE=containerdriver.local/pause:1
# One cluster per machine: these ports are fixed (etcd, apiserver, kubelet, kube-proxy,
# controller-manager, scheduler).
PORTS=(2379 2380 2381 6443 10248 10249 10250 10256 10257 10259)
# Start order; stopped in the reverse order of dependency by down.sh.
COMPONENTS=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

export PATH=/usr/local/go/bin:$PATH:/usr/local/sbin:/usr/sbin:/sbin
export CGO_ENABLED=0

now_ms() { date +%s%3N; }
# secs START_MS: seconds elapsed since START_MS, one decimal
secs() { local d=$(($(now_ms) - $1)); printf '%d.%d' $((d / 1000)) $((d % 1000 / 100)); }
say() { echo "cluster: $*"; }
die() {
	echo "cluster: ERROR: $*" >&2
	exit 1
}
ctr_k8s() { ctr --address "$SOCK" -n k8s.io "$@"; }
# running_version: the Kubernetes version of the running cluster's binaries (empty when
# none was recorded).
running_version() { cat "$RUNNING_VERSION_FILE" 2>/dev/null || true; }
# running_kube: the kube binary of the running cluster's version when it is there, else
# KUBE_VERSION's (any of them talks to any cluster the scripts need).
running_kube() {
	local r
	r=$(running_version)
	if [ -n "$r" ] && [ -x "$BIN/k8s/$r/kube" ]; then
		echo "$BIN/k8s/$r/kube"
	elif [ ! -x "$KUBE" ] && [ -x "$BIN/kube" ]; then
		echo "$BIN/kube" # a cluster started before versions were kept apart
	else
		echo "$KUBE"
	fi
}
kubectl() { "$(running_kube)" kubectl --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

# is_ours PID: the process exists and its command line names this state directory.
is_ours() {
	[[ $1 =~ ^[0-9]+$ ]] && [ -r "/proc/$1/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$DIR/"
}

# pid_of NAME: the PID of the running component NAME of this cluster; fails when its PID
# file is missing or stale (the process is gone, or the PID now belongs to another one).
pid_of() {
	local f=$DIR/run/$1.pid p
	[ -f "$f" ] || return 1
	p=$(<"$f")
	is_ours "$p" || return 1
	echo "$p"
}

# stray_pids: processes of this cluster found by what they are, not by PID file: the
# cluster's binaries (and containerd's shims) whose command line names this state dir.
stray_pids() {
	local d p exe
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		exe=$(readlink "$d/exe" 2>/dev/null) || continue
		case $exe in
		# Any version's kube (and the single $BIN/kube of before versions were kept apart).
		"$BIN"/k8s/*/kube | "$BIN"/k8s/*/kube" (deleted)" | "$BIN/kube" | "$BIN/kube (deleted)") ;;
		*/containerd | */etcd | "$BIN"/etcd-v* | "$BIN"/etcd-v*" (deleted)" | */containerd-shim-runc-v2) ;;
		*) continue ;;
		esac
		is_ours "$p" && echo "$p"
	done
	return 0
}

# pod_pids: processes of the cluster's pods, found by the cgroups the kubelet created
# (cgroupfs driver: /sys/fs/cgroup/<controller>/kubepods/...). Containers outlive a
# killed shim, so a cluster that was killed with -9 leaves them behind.
pod_pids() {
	local f
	for f in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
		[ -d "$f" ] && find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -un
	return 0
}

# node_ip: the address of the interface of the default route (falls back to the first
# global IPv4 address). It is baked into the certificates.
node_ip() {
	local ip
	ip=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n1)
	[ -n "$ip" ] || ip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -n1)
	[ -n "$ip" ] || die "no IPv4 address found for the node"
	echo "$ip"
}

# apiserver_ready: the API server of this state dir answers /readyz.
apiserver_ready() {
	[ -f "$DIR/pki/admin.crt" ] || return 1
	[ "$(curl -s --max-time 2 --cacert "$DIR/pki/ca.crt" --cert "$DIR/pki/admin.crt" --key "$DIR/pki/admin.key" https://127.0.0.1:6443/readyz 2>/dev/null)" = ok ]
}

# apiserver_version: the gitVersion the running API server reports (empty when none answers).
apiserver_version() {
	[ -f "$DIR/pki/admin.crt" ] || return 0
	curl -s --max-time 2 --cacert "$DIR/pki/ca.crt" --cert "$DIR/pki/admin.crt" --key "$DIR/pki/admin.key" https://127.0.0.1:6443/version 2>/dev/null |
		sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p'
}

# healthy: every component is running and the API server is ready.
healthy() {
	local c
	for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null || return 1; done
	apiserver_ready
}

# require_root: the cluster needs mounts, iptables and cgroups.
require_root() {
	[ "$(id -u)" = 0 ] || die "the local cluster needs root (mounts, iptables, cgroups); run as root"
}

# HOST_NEEDS: what the cluster runs, as "command-or-path:apt-package".
HOST_NEEDS=(containerd:containerd /usr/sbin/runc:runc
	/usr/lib/cni/bridge:containernetworking-plugins /usr/lib/cni/host-local:containernetworking-plugins
	/usr/lib/cni/portmap:containernetworking-plugins /usr/lib/cni/loopback:containernetworking-plugins
	iptables:iptables ip6tables:iptables conntrack:conntrack openssl:openssl curl:curl ip:iproute2 ss:iproute2)

# check_host: fail with the list of missing packages.
check_host() {
	local n what pkg missing=()
	for n in "${HOST_NEEDS[@]}"; do
		what=${n%%:*} pkg=${n#*:}
		if [[ $what == /* ]]; then [ -x "$what" ] && continue; else command -v "$what" >/dev/null && continue; fi
		[[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
	done
	[ ${#missing[@]} = 0 ] || die "missing Debian packages: ${missing[*]}. Install them with: make setup-host (hack/cluster/setup-host.sh, as root)"
	command -v go >/dev/null || die "go is not installed (expected in /usr/local/go/bin or on PATH)"
}

# foreign_listeners: "port (process)" for each cluster port held by a process that is not
# this state dir's, e.g. a cluster started with another CONTAINERDRIVER_CLUSTER_DIR.
# While one runs, the machine-wide cleanup (iptables, cni0, kubepods cgroups, pod
# processes) would break it, so down.sh leaves those alone.
foreign_listeners() {
	local p line pid mine
	for p in "${PORTS[@]}"; do
		line=$(ss -Hltnp "sport = :$p" 2>/dev/null | head -n1)
		[ -n "$line" ] || continue
		mine=0
		for pid in $(grep -o 'pid=[0-9]*' <<<"$line" | cut -d= -f2); do is_ours "$pid" && mine=1; done
		[ $mine = 1 ] || echo "$p:$(sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1[\2]/p' <<<"$line")"
	done
	return 0
}

# lock_cluster: one up/down/reset/build at a time per state dir; a second caller waits
# (two cluster-ups at once would each "recover" from the other's fresh processes). The
# lock is on fd 9, which the cluster's daemons must not inherit (start() closes it).
lock_cluster() {
	[ -n "${CONTAINERDRIVER_CLUSTER_LOCKED:-}" ] && return 0
	mkdir -p "$DIR"
	exec 9>>"$DIR/.lock"
	if ! flock -n 9; then
		say "waiting for another cluster command on $DIR to finish"
		flock -w 900 9 || die "another cluster command still holds $DIR/.lock after 15 minutes"
	fi
	export CONTAINERDRIVER_CLUSTER_LOCKED=1
}
