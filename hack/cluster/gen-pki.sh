#!/bin/bash
# Generates the cluster's CA, component certificates, service-account key pair and
# kubeconfigs with openssl. Usage: gen-pki.sh NODE_IP. The node IP is baked into the API
# server and kubelet certificates: up.sh calls this again when the IP changes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
IP=$1
P=$DIR/pki K=$DIR/kubeconfig
rm -rf "$P" "$K"
mkdir -p "$P" "$K"
chmod 700 "$P"
cd "$P"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=containerdriver-local-ca" 2>/dev/null
openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null

# cert NAME CN ORG [SAN] [EXTENDED_KEY_USAGE]
cert() {
	local n=$1 cn=$2 o=$3 san=${4:-} eku=${5:-clientAuth} subj
	subj="/CN=$cn"
	[ -n "$o" ] && subj="/O=$o/CN=$cn"
	openssl req -newkey rsa:2048 -nodes -keyout "$n.key" -out "$n.csr" -subj "$subj" 2>/dev/null
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$eku"
		[ -n "$san" ] && echo "subjectAltName=$san"
	} >"$n.ext"
	openssl x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$n.crt" -days 3650 -extfile "$n.ext" 2>/dev/null
	rm -f "$n.csr" "$n.ext"
}
cert apiserver kube-apiserver "" "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,DNS:$NODE,IP:127.0.0.1,IP:10.96.0.1,IP:$IP" serverAuth
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
cert admin kubernetes-admin system:masters
cert controller-manager system:kube-controller-manager ""
cert scheduler system:kube-scheduler ""
cert kube-proxy system:kube-proxy ""
cert kubelet "system:node:$NODE" system:nodes
cert kubelet-server "$NODE" "" "DNS:$NODE,DNS:localhost,IP:127.0.0.1,IP:$IP" serverAuth

# kc NAME CERT: a kubeconfig with absolute paths to this state dir's files.
kc() {
	cat >"$K/$1.kubeconfig" <<EOK
apiVersion: v1
kind: Config
clusters:
- name: containerdriver-local
  cluster: {certificate-authority: $P/ca.crt, server: "https://$IP:6443"}
users:
- name: $1
  user: {client-certificate: $P/$2.crt, client-key: $P/$2.key}
contexts:
- name: containerdriver-local
  context: {cluster: containerdriver-local, user: $1}
current-context: containerdriver-local
EOK
}
kc admin admin
kc controller-manager controller-manager
kc scheduler scheduler
kc kubelet kubelet
kc kube-proxy kube-proxy
echo "$IP" >"$P/node-ip"
