#!/bin/bash
# Builds the images the runner templates and the demo need, without Docker, and imports them
# into the local cluster when it runs (make images):
#
#   templates/images.sh [--no-load] [sidecars] [opentofu] [terraform] [shell]
#
# With no name, all of them. Tarballs go to $DIR/images; the references are
#   containerdriver.local/containerdriver-sidecars:dev   outputsfetcher, prechecks, inigit,
#                                                        statekeeper, runner-helper
#   containerdriver.local/opentofu-runner:dev            templates/opentofu (needs make tofu)
#   containerdriver.local/terraform-runner:dev           templates/terraform (terraform in PATH)
#   containerdriver.local/shell-runner:dev               templates/shell (busybox-static)
# Pods use imagePullPolicy IfNotPresent: a re-imported :dev tag is what the next pod runs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${CONTAINERDRIVER_CLUSTER_DIR:-/var/tmp/containerdriver-cluster}
DIR=${DIR%/}
OUT=$DIR/images
SIDECAR_IMAGE=${SIDECAR_IMAGE:-containerdriver.local/containerdriver-sidecars:dev}
export CGO_ENABLED=0

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
	sidecars | opentofu | terraform | shell) names+=("$a") ;;
	*) die "unknown image $a (sidecars, opentofu, terraform, shell)" ;;
	esac
done
[ ${#names[@]} -gt 0 ] || names=(sidecars opentofu terraform shell)
mkdir -p "$OUT"

# The sidecar image: the binaries at the paths of internal/contract (SidecarBinDir).
build_sidecars() {
	local work args=() pkg name
	work=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "rm -rf '$work'" RETURN
	for entry in outputsfetcher prechecks inigit statekeeper runnerhelper:runner-helper; do
		pkg=${entry%%:*}
		name=${entry#*:}
		if [ ! -d "$ROOT/sidecars/$pkg" ]; then
			say "warning: sidecars/$pkg does not exist yet; the sidecar image has no $name"
			continue
		fi
		(cd "$ROOT" && go build -trimpath -ldflags "-s -w" -o "$work/$name" "./sidecars/$pkg")
		args+=("/opt/container-driver/$name:0755=$work/$name")
	done
	(cd "$ROOT" && go run ./hack/mkimage -t "$SIDECAR_IMAGE" -o "$OUT/sidecars.tar" -user 1000:1000 \
		-label org.opencontainers.image.title=containerdriver-sidecars "${args[@]}")
}

declare -A tar_of=([sidecars]=sidecars.tar [opentofu]=opentofu-runner.tar [terraform]=terraform-runner.tar [shell]=shell-runner.tar)
built=()
for n in "${names[@]}"; do
	T=$(now_ms)
	tar=$OUT/${tar_of[$n]}
	case $n in
	sidecars) build_sidecars ;;
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
	say "the local cluster is not running: not loading (make cluster-up, then make images)"
	exit 0
fi
for tar in "${built[@]}"; do
	make -s -C "$ROOT" image-load TAR="$tar"
done
