#!/bin/bash
# Prints the version matrix (make versions): the versions this checkout tests (the
# defaults, the oldest claimed, and any other with a module file), what is built on this
# machine, and the latest result of each (Kubernetes, CLI, scope) that test.sh recorded in
# $DIR/matrix.tsv.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kube_versions() {
	default_kube_version
	ls "$CLUSTER_SRC"/versions/*.mod 2>/dev/null | sed 's|.*/||; s|\.mod$||'
}
tofu_versions() {
	default_tofu_version
	ls "$ROOT"/hack/tofu/versions/*.mod 2>/dev/null | sed 's|.*/||; s|\.mod$||'
}
echo "Versions with a module file (default first), and whether they are built here:"
printf '  %-12s %-10s %s\n' Kubernetes built "binaries"
for v in $(kube_versions); do
	b=no
	[ -x "$BIN/k8s/$v/kube" ] && b=yes
	printf '  %-12s %-10s %s\n' "$v" "$b" "$BIN/k8s/$v"
done
printf '  %-12s %-10s %s\n' OpenTofu built binary
for v in $(tofu_versions); do
	if [ "$v" = "$(default_tofu_version)" ]; then t=$BIN/tofu; else t=$BIN/tofu-$v; fi
	b=no
	[ -x "$t" ] && b=yes
	printf '  %-12s %-10s %s\n' "$v" "$b" "$t"
done
r=$(running_version)
echo "Running cluster: ${r:-none recorded}$( [ -n "$r" ] && apiserver_ready && echo " (answering)")"
echo
if [ ! -s "$DIR/matrix.tsv" ]; then
	echo "No results recorded yet in $DIR/matrix.tsv: make test, make test-oldest or make smoke-oldest write them."
	exit 0
fi
echo "Latest result of each combination ($DIR/matrix.tsv):"
{
	printf 'Kubernetes\tCLI\tscope\tresult\tseconds\twhen (UTC)\n'
	# The last line of each (Kubernetes, CLI, scope) wins.
	awk -F'\t' '{k = $2 FS $3 FS $4; last[k] = $0; if (!(k in order)) {order[k] = n++}}
		END {for (k in order) print order[k] "\t" last[k]}' "$DIR/matrix.tsv" | sort -n | cut -f2- |
		awk -F'\t' '{print $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 "\t" $1}'
} | column -t -s $'\t' | sed 's/^/  /'
