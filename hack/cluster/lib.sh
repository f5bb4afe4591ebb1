# shellcheck shell=bash
# Settings and helpers shared by the cluster scripts. Sourced, never run.
#
# Everything the cluster writes lives in $DIR (outside the work tree, so a fresh clone on
# the same machine finds the same cluster). $DIR/bin holds the binaries and survives a
# reset; the rest is state.

DIR=${CONTAINERDRIVER_CLUSTER_DIR:-/var/tmp/containerdriver-cluster}
DIR=${DIR%/}
BIN=$DIR/bin
CLUSTER_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$CLUSTER_SRC/../.." && pwd)

KUBE_VERSION=v1.33.13
NODE=containerdriver-node
SOCK=$DIR/run/containerd.sock
KUBE=$BIN/kube
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
kubectl() { "$KUBE" kubectl --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

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
		"$KUBE" | "$KUBE (deleted)" | */containerd | */etcd | */containerd-shim-runc-v2) ;;
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
HOST_NEEDS=(containerd:containerd /usr/sbin/runc:runc etcd:etcd-server etcdctl:etcd-client
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
