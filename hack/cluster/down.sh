#!/bin/bash
# Stops the local cluster and removes what it left outside its state: processes (by PID
# file, then any process of the cluster's binaries naming this state dir, then the pods'
# processes found by their cgroups), mounts under $DIR, iptables chains (KUBE-*, CNI-*),
# the cni0 bridge, the kubepods cgroups. State (etcd data, images, certificates) is kept;
# reset.sh wipes it. Exits non-zero when something could not be removed.
#
# --recover: used by up.sh; silent when there is nothing to clean, and then says what it
# found of a cluster whose processes are gone.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
lock_cluster
RECOVER=0
[ "${1:-}" = --recover ] && RECOVER=1
T0=$(now_ms)
found=()
stale=()
note() { found+=("$*"); }

# stop NAME [SECONDS]: SIGTERM, up to SECONDS (default 10) to exit, then SIGKILL.
stop() {
	local p i max=$((${2:-10} * 10))
	p=$(pid_of "$1") || {
		[ -f "$DIR/run/$1.pid" ] && stale+=("$1")
		rm -f "$DIR/run/$1.pid"
		return 0
	}
	kill "$p" 2>/dev/null
	for ((i = 0; i < max; i++)); do
		is_ours "$p" || break
		sleep 0.1
	done
	is_ours "$p" && kill -9 "$p" 2>/dev/null
	rm -f "$DIR/run/$1.pid"
	[ $RECOVER = 1 ] && note "running $1 (PID $p)"
	return 0
}

# The node agents first, so nothing restarts containers while they are removed.
for c in kube-proxy kubelet kube-scheduler kube-controller-manager; do stop "$c"; done
if pid_of containerd >/dev/null && [ -S "$SOCK" ]; then
	ids=$(ctr_k8s containers ls -q 2>/dev/null)
	for id in $ids; do ctr_k8s tasks kill -s SIGKILL "$id" >/dev/null 2>&1; done
	[ -n "$ids" ] && sleep 1
	for id in $ids; do
		ctr_k8s tasks rm -f "$id" >/dev/null 2>&1
		ctr_k8s containers rm "$id" >/dev/null 2>&1
	done
fi
stop containerd
# The API server drains open requests (test watches) for up to a minute; its state is in
# etcd, so it need not wait.
stop kube-apiserver 2
stop etcd
[ ${#stale[@]} = 0 ] || note "stale PID files of ${stale[*]}"

# Another cluster (another state dir) holding the ports owns the machine-wide things.
foreign=$(foreign_listeners)
if [ -n "$foreign" ]; then
	say "cluster ports held by another cluster or service (port:process[pid]): $(echo $foreign); leaving iptables, cni0, cgroups and pod processes alone"
	pod_pids() { :; }
fi

# Processes whose PID files were lost, shims, and containers that outlived their shim.
for round in 1 2 3; do
	pids=$( (stray_pids; pod_pids) | sort -un)
	[ -z "$pids" ] && break
	[ $round = 1 ] && note "$(echo $pids | wc -w) leftover processes of the cluster or its pods"
	kill -9 $pids 2>/dev/null
	sleep 0.5
done

# Mounts: container root filesystems, sandbox /dev/shm, network namespaces, pod volumes.
mounts=$(awk -v d="$DIR/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r)
if [ -n "$mounts" ]; then
	note "$(echo "$mounts" | wc -l) mounts under $DIR"
	echo "$mounts" | xargs -r -n 50 umount -l 2>/dev/null
fi

# No container is left, so no address is in use: stale host-local reservations would
# otherwise pile up across crashes until the /22 is exhausted.
rm -rf "$DIR/cni/ipam"

# What a cluster leaves machine-wide: only touched when no other cluster runs.
machine_wide_cleanup() {
	# iptables: the rules kube-proxy, the kubelet and the CNI plugins added, then their chains.
	local kube
	kube=$(running_kube)
	if [ -x "$kube" ] && iptables-save 2>/dev/null | grep -q -- '-j KUBE-'; then
		"$kube" kube-proxy --cleanup >/dev/null 2>&1
	fi
	chains_removed=0
	for ipt in iptables ip6tables; do
		command -v $ipt >/dev/null || continue
		for t in nat filter mangle; do
			$ipt -t $t -S 2>/dev/null | grep -E -- '^-A [A-Z]+ .*-j (KUBE|CNI)-' | grep -Ev -- '^-A (KUBE|CNI)-' | sed 's/^-A/-D/' |
				while read -r rule; do eval "$ipt -t $t $rule" 2>/dev/null; done
			chains=$($ipt -t $t -S 2>/dev/null | awk '/^-N (KUBE|CNI)-/{print $2}')
			for ch in $chains; do $ipt -t $t -F "$ch" 2>/dev/null; done
			for ch in $chains; do $ipt -t $t -X "$ch" 2>/dev/null && chains_removed=$((chains_removed + 1)); done
		done
	done
	[ $chains_removed = 0 ] || note "$chains_removed iptables chains"

	# The pods' cgroups (cgroupfs driver): deepest first; a cgroup with processes stays.
	for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
		for g in kubepods k8s.io; do
			[ -d "$h$g" ] && find "$h$g" -depth -type d -exec rmdir {} \; 2>/dev/null
		done
	done

	if ip link show cni0 >/dev/null 2>&1; then
		ip link del cni0 && note "the cni0 bridge"
	fi
	rm -rf /var/lib/cni/results/containerdriver-* 2>/dev/null
	# Symbolic links the kubelet creates for log collectors, pointing into this state dir.
	find /var/log/containers /var/log/pods -maxdepth 1 -type l -lname "$DIR/*" -delete 2>/dev/null

	# Directories the kubelet creates at fixed places whatever its root dir; removed when
	# nothing else is in them.
	rm -f /var/lib/kubelet/device-plugins/kubelet.sock /var/lib/kubelet/pod-resources/kubelet.sock 2>/dev/null
	for d in /var/lib/kubelet/device-plugins /var/lib/kubelet/pod-resources /var/lib/kubelet/plugins_registry \
		/var/lib/kubelet/plugins /var/lib/kubelet /var/log/containers /var/log/pods; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
}
[ -n "$foreign" ] || machine_wide_cleanup
rm -f "$RUNNING_VERSION_FILE"

# What must not be left behind.
left=()
pids=$( (stray_pids; pod_pids) | sort -un)
[ -z "$pids" ] || left+=("processes: $(echo $pids)")
m=$(awk -v d="$DIR/" 'index($2, d) == 1' /proc/mounts | wc -l)
[ "$m" = 0 ] || left+=("$m mounts under $DIR")
for ipt in iptables ip6tables; do
	command -v $ipt >/dev/null && [ -z "$foreign" ] || continue
	for t in nat filter mangle; do
		n=$($ipt -t $t -S 2>/dev/null | grep -cE -- '^-N (KUBE|CNI)-')
		[ "$n" = 0 ] || left+=("$ipt -t $t: $n chains")
	done
done
if [ -z "$foreign" ]; then
	ip link show cni0 >/dev/null 2>&1 && left+=("cni0 bridge")
	for h in /sys/fs/cgroup/*/kubepods; do [ -d "$h" ] && left+=("cgroup $h"); done
fi

if [ $RECOVER = 1 ]; then
	[ ${#found[@]} = 0 ] || say "recovered from a previous cluster: $(IFS=';'; echo "${found[*]}" | sed 's/;/; /g')"
else
	say "stopped in $(secs "$T0")s${found:+ (cleaned: $(IFS=';'; echo "${found[*]}" | sed 's/;/; /g'))}"
fi
if [ ${#left[@]} != 0 ]; then
	printf 'cluster: ERROR: left behind: %s\n' "${left[@]}" >&2
	exit 1
fi
exit 0
