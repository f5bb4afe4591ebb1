#!/bin/bash
# Builds the runner template images without Docker, each with its folder's build.sh, and
# imports them into the local cluster when it runs (make runner-images; the sidecar image is
# make images):
#
#   templates/images.sh [--no-load] [opentofu] [terraform] [shell]
#
# With no name, all of them. Tarballs go to $DIR/images; the references are
#   containerdriver.local/opentofu-runner:dev    templates/opentofu (needs make tofu)
#   containerdriver.local/terraform-runner:dev   templates/terraform (terraform in PATH)
#   containerdriver.local/shell-runner:dev       templates/shell (busybox-static)
# Pods use imagePullPolicy IfNotPresent: a re-imported :dev tag is what the next pod runs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${CONTAINERDRIVER_CLUSTER_DIR:-/var/tmp/containerdriver-cluster}
DIR=${DIR%/}
OUT=$DIR/images

say() { echo "images: $*"; }
die() {
	echo "images: ERROR: $*" >&2
	exit 1
}
now_ms() { date +%s%3N; }
secs() { local d=$(($(now_ms) - $1)); printf '%d.%d' $((d / 1000)) $((d % 1000 / 100)); }

load=1
names=()
for a in "$@"; do
	case $a in
	--no-load) load=0 ;;
	opentofu | terraform | shell) names+=("$a") ;;
	*) die "unknown image $a (opentofu, terraform, shell)" ;;
	esac
done
[ ${#names[@]} -gt 0 ] || names=(opentofu terraform shell)
mkdir -p "$OUT"

declare -A tar_of=([opentofu]=opentofu-runner.tar [terraform]=terraform-runner.tar [shell]=shell-runner.tar)
built=()
for n in "${names[@]}"; do
	T=$(now_ms)
	tar=$OUT/${tar_of[$n]}
	case $n in
	opentofu)
		if [ -z "${TOFU:-}" ] && [ ! -x "$DIR/bin/tofu" ]; then
			die "no tofu binary: run make tofu first (or set TOFU to a statically linked tofu)"
		fi
		"$ROOT/templates/opentofu/build.sh" "$tar" ;;
	terraform)
		if [ -z "${TERRAFORM:-}" ] && ! command -v terraform >/dev/null; then
			say "skipping terraform: no terraform in PATH (set TERRAFORM)"
			continue
		fi
		"$ROOT/templates/terraform/build.sh" "$tar" ;;
	shell) "$ROOT/templates/shell/build.sh" "$tar" ;;
	esac
	built+=("$tar")
	say "$n: built in $(secs "$T")s"
done

[ $load = 1 ] || exit 0
# The local cluster's containerd: see hack/cluster/lib.sh.
if [ ! -S "$DIR/run/containerd.sock" ]; then
	say "the local cluster is not running: not loading (make cluster-up, then make runner-images)"
	exit 0
fi
for tar in "${built[@]}"; do
	make -s -C "$ROOT" image-load TAR="$tar"
done
