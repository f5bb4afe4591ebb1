#!/bin/bash
# Starts the local single-node cluster (containerd, etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy) at Kubernetes $KUBE_VERSION
# (CONTAINERDRIVER_KUBE_VERSION; default: hack/cluster/go.mod's release) from $DIR and
# waits until the node is Ready and the default service account exists.
#
# Idempotent: returns at once when the cluster answers at that version. Otherwise it builds
# the version's binaries when needed (while a running cluster keeps running), first cleans
# up what a cluster whose processes are gone left behind (stale PID files, mounts, iptables
# chains, the cni0 bridge, pod processes), checks the ports, and starts everything.
#
# Switching versions: a cluster running another version is stopped and started at this
# one. Kubernetes supports neither skipping minor versions nor downgrades, so the API
# objects (etcd's data) and the kubelet's state of another version are wiped; the images in
# containerd, the certificates and the binaries are kept.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
lock_cluster

report() {
	say "kubeconfig: $ADMIN_KUBECONFIG"
	say "use it with: export KUBECONFIG=$ADMIN_KUBECONFIG   (or: eval \"\$(make -s cluster-env)\")"
}

T0=$(now_ms)
switch_from=""
if healthy; then
	running=$(apiserver_version)
	if [ "$running" = "$KUBE_VERSION" ]; then
		say "already running Kubernetes $running (state in $DIR)"
		report
		exit 0
	fi
	switch_from=${running:-unknown}
	say "running Kubernetes $switch_from: switching to $KUBE_VERSION (the binaries are built first, while it runs)"
fi

check_host
foreign=$(foreign_listeners)
[ -z "$foreign" ] || die "ports in use by another cluster or service (port:process[pid]): $(echo $foreign). Stop it (make cluster-down with its CONTAINERDRIVER_CLUSTER_DIR if it is another cluster) and retry."
"$CLUSTER_SRC/build.sh"
T_BUILD=$(secs "$T0")

T_DOWN=$(now_ms)
if [ -n "$switch_from" ]; then
	"$CLUSTER_SRC/down.sh"
else
	"$CLUSTER_SRC/down.sh" --recover
fi

# API objects and kubelet state of another version (or of an unrecorded one) start over.
state_version=$(cat "$STATE_VERSION_FILE" 2>/dev/null || echo unrecorded)
if [ "$state_version" != "$KUBE_VERSION" ] && [ -d "$DIR/etcd/data" ]; then
	say "etcd and kubelet state are of Kubernetes $state_version: wiping them for $KUBE_VERSION (images, certificates and binaries are kept)"
	rm -rf "$DIR/etcd/data" "$DIR/kubelet/root" "$DIR/kubelet/pod-logs" "$DIR/kubelet/pki"
fi
# Data of another etcd release (or of Debian's 3.4, which recorded none) starts over too.
state_etcd=$(cat "$STATE_ETCD_FILE" 2>/dev/null || echo "unrecorded (Debian's 3.4)")
if [ "$state_etcd" != "$ETCD_VERSION" ] && [ -d "$DIR/etcd/data" ]; then
	say "etcd's data was written by etcd $state_etcd: wiping it and the kubelet state for etcd $ETCD_VERSION (images, certificates and binaries are kept)"
	rm -rf "$DIR/etcd/data" "$DIR/kubelet/root" "$DIR/kubelet/pod-logs" "$DIR/kubelet/pki"
fi

busy=()
for p in "${PORTS[@]}"; do
	l=$(ss -Hltnp "sport = :$p" 2>/dev/null | head -n1)
	[ -z "$l" ] || busy+=("$p:$(sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1[\2]/p' <<<"$l")")
done
[ ${#busy[@]} = 0 ] || die "ports in use by another cluster or service (port:process[pid]): ${busy[*]}. Stop it (make cluster-down if it is a cluster of another state directory) and retry."

T1=$(now_ms)
IP=$(node_ip)
if [ "$(cat "$DIR/pki/node-ip" 2>/dev/null)" != "$IP" ] || [ ! -f "$ADMIN_KUBECONFIG" ]; then
	say "generating certificates for node IP $IP"
	"$CLUSTER_SRC/gen-pki.sh" "$IP"
fi
mkdir -p "$DIR"/{run,logs,containerd,cni/net.d,etcd,kubelet}

sysctl -qw net.ipv4.ip_forward=1
# Pod-to-service-to-pod traffic on the same bridge goes through iptables only with
# br_netfilter; best effort, the API server's service works without it.
modprobe br_netfilter 2>/dev/null || true
[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] && sysctl -qw net.bridge.bridge-nf-call-iptables=1 || true

cat >"$DIR/containerd/config.toml" <<EOC
version = 2
root = "$DIR/containerd/root"
state = "$DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  # Local images are imported, never pulled: a name without a dotted registry would be
  # looked up on docker.io.
  sandbox_image = "$PAUSE_IMAGE"
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  # The VM lacks CAP_SYS_RESOURCE: without this runc cannot set oom_score_adj=-998 on
  # the sandbox ("can't get final child's PID from pipe: EOF").
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$DIR/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "/usr/sbin/runc"
        Root = "$DIR/run/runc"
EOC
# containerd 1.6 ignores a CNI config moved into place after it started: write it first.
cat >"$DIR/cni/net.d/10-containerdriver.conflist" <<EOC
{"cniVersion": "1.0.0", "name": "containerdriver", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/22"}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$DIR/cni/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOC
cat >"$DIR/kubelet/config.yaml" <<EOC
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $DIR/pki/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
# The machine has cgroup v1 (hybrid); from Kubernetes 1.35 this must be said explicitly.
failCgroupV1: false
containerRuntimeEndpoint: unix://$SOCK
failSwapOn: false
tlsCertFile: $DIR/pki/kubelet-server.crt
tlsPrivateKeyFile: $DIR/pki/kubelet-server.key
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
podLogsDir: $DIR/kubelet/pod-logs
volumePluginDir: $DIR/kubelet/volume-plugins
# Images are imported, never pulled: garbage collecting one would lose it for good.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
evictionPressureTransitionPeriod: 5s
nodeStatusUpdateFrequency: 5s
syncFrequency: 10s
fileCheckFrequency: 5s
serializeImagePulls: false
# Room for the bench's 500-run row (hack/bench, BENCH_SCALES): the default is 110 pods, and
# the CNI range above (a /22, 1,021 addresses) holds them all.
maxPods: 520
EOC
# "primary" (the node's primary addresses) exists from Kubernetes 1.30 on; before, a CIDR.
NODEPORT_ADDRESSES=primary
[ "$(cut -d. -f2 <<<"$KUBE_VERSION")" -ge 30 ] || NODEPORT_ADDRESSES=$IP/32
cat >"$DIR/kube-proxy.yaml" <<EOC
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $DIR/kubeconfig/kube-proxy.kubeconfig}
mode: iptables
hostnameOverride: $NODE
clusterCIDR: 10.244.0.0/16
conntrack: {maxPerCore: 0}
nodePortAddresses: [$NODEPORT_ADDRESSES]
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
EOC

# start NAME CMD...: runs CMD in its own session (so it survives the shell that started
# it), appends to $DIR/logs/NAME.log and records the PID.
start() {
	local n=$1
	shift
	echo "=== $(date -u +%FT%TZ) starting: $*" >>"$DIR/logs/$n.log"
	setsid "$@" >>"$DIR/logs/$n.log" 2>&1 </dev/null 9>&- &
	echo $! >"$DIR/run/$n.pid"
}

# fail COMPONENT MESSAGE: prints the message and the tail of the component's log.
fail() {
	local c=$1
	shift
	{
		echo "cluster: ERROR: $*"
		echo "---- last 30 lines of $DIR/logs/$c.log ----"
		tail -n 30 "$DIR/logs/$c.log" 2>/dev/null
		echo "----"
		echo "cluster: the cluster is partly up; 'make cluster-down' stops it, 'make cluster-reset' also wipes its state."
	} >&2
	exit 1
}

# wait_for COMPONENT WHAT TIMEOUT_SECONDS CMD...: polls CMD until it succeeds; fails with
# the component's log when the component exits or the time is up.
wait_for() {
	local c=$1 what=$2 max=$3
	shift 3
	local end=$(($(now_ms) + max * 1000))
	until "$@" >/dev/null 2>&1; do
		pid_of "$c" >/dev/null || fail "$c" "$c exited while waiting for: $what"
		[ "$(now_ms)" -lt "$end" ] || fail "$c" "$what: not ready after ${max}s"
		sleep 0.2
	done
}

ok_url() { [ "$(curl -sk --max-time 2 "$1" 2>/dev/null)" = ok ]; }
node_ready() { [ "$(kubectl get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
accounts_ready() { kubectl -n default get serviceaccount default && kubectl -n default get configmap kube-root-ca.crt; }

T_START=$(now_ms)
start containerd containerd --config "$DIR/containerd/config.toml"
start etcd "$ETCD" --name containerdriver --data-dir "$DIR/etcd/data" \
	--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
	--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
	--initial-cluster containerdriver=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
	--unsafe-no-fsync
wait_for containerd "containerd answering on $SOCK" 30 ctr_k8s version
ctr_k8s images import "$KUBE_BIN/pause.tar" >/dev/null || fail containerd "importing the pause image failed"
wait_for etcd "etcd healthy (if its data is damaged: make cluster-reset)" 30 bash -c '[[ $(curl -s --max-time 2 http://127.0.0.1:2379/health) == *true* ]]'
echo "$KUBE_VERSION" >"$STATE_VERSION_FILE"
echo "$ETCD_VERSION" >"$STATE_ETCD_FILE"
say "containerd, etcd $ETCD_VERSION: $(secs "$T_START")s"

P=$DIR/pki KC=$DIR/kubeconfig
start kube-apiserver "$KUBE" kube-apiserver --etcd-servers=http://127.0.0.1:2379 \
	--advertise-address="$IP" --bind-address=0.0.0.0 --secure-port=6443 \
	--tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" \
	--service-account-issuer=https://kubernetes.default.svc.cluster.local \
	--service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
	--service-cluster-ip-range=10.96.0.0/12 --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
	--kubelet-client-certificate="$P/apiserver-kubelet-client.crt" --kubelet-client-key="$P/apiserver-kubelet-client.key" \
	--kubelet-preferred-address-types=InternalIP,Hostname --allow-privileged=true --profiling=false
wait_for kube-apiserver "kube-apiserver /readyz" 90 apiserver_ready
say "kube-apiserver: $(secs "$T_START")s"

start kube-controller-manager "$KUBE" kube-controller-manager --kubeconfig="$KC/controller-manager.kubeconfig" \
	--authentication-kubeconfig="$KC/controller-manager.kubeconfig" --authorization-kubeconfig="$KC/controller-manager.kubeconfig" \
	--service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" --use-service-account-credentials=true \
	--cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
	--leader-elect=false --bind-address=127.0.0.1 --profiling=false
start kube-scheduler "$KUBE" kube-scheduler --kubeconfig="$KC/scheduler.kubeconfig" \
	--authentication-kubeconfig="$KC/scheduler.kubeconfig" --authorization-kubeconfig="$KC/scheduler.kubeconfig" \
	--leader-elect=false --bind-address=127.0.0.1 --profiling=false
start kubelet "$KUBE" kubelet --config="$DIR/kubelet/config.yaml" --kubeconfig="$KC/kubelet.kubeconfig" \
	--root-dir="$DIR/kubelet/root" --cert-dir="$DIR/kubelet/pki" --hostname-override="$NODE" --node-ip="$IP"
start kube-proxy "$KUBE" kube-proxy --config="$DIR/kube-proxy.yaml"
echo "$KUBE_VERSION" >"$RUNNING_VERSION_FILE"
ln -sfn "k8s/$KUBE_VERSION/kube" "$BIN/kubectl"

wait_for kube-controller-manager "kube-controller-manager /healthz" 60 ok_url https://127.0.0.1:10257/healthz
wait_for kube-scheduler "kube-scheduler /healthz" 60 ok_url https://127.0.0.1:10259/healthz
wait_for kubelet "kubelet /healthz" 60 ok_url http://127.0.0.1:10248/healthz
wait_for kube-proxy "kube-proxy /healthz" 60 curl -sf --max-time 2 http://127.0.0.1:10256/healthz
wait_for kubelet "node $NODE Ready" 120 node_ready
say "node Ready: $(secs "$T_START")s"
wait_for kube-controller-manager "service account default/default and configmap kube-root-ca.crt" 60 accounts_ready
[ -z "$switch_from" ] || say "switched from Kubernetes $switch_from to $KUBE_VERSION: down for $(secs "$T_DOWN")s"
say "Kubernetes $(apiserver_version) ready: start $(secs "$T_START")s (certificates/config $((T_START - T1))ms), build check ${T_BUILD}s, total $(secs "$T0")s"
report
