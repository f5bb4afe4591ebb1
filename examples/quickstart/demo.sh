#!/bin/bash
# make demo / make demo-destroy: the quickstart from nothing to outputs.
#
#   examples/quickstart/demo.sh up        cluster, images, provider, init + apply, outputs
#   examples/quickstart/demo.sh destroy   destroy what "up" created
#
# Missing Debian packages are installed first, as root (hack/cluster/bootstrap.sh calls
# hack/cluster/setup-host.sh), so make demo alone works on a fresh machine.
# The cluster is the local one (make cluster-up), unless KUBECONFIG names another: then
# the runner image must be in a registry that cluster pulls from (RUNNER_IMAGE, and
# SIDECAR_IMAGE unless the released sidecar image is used), since only the local cluster
# gets the images imported.
#
# Terraform runs the example (OpenTofu when terraform is not installed) in a copy of this
# directory under $DIR/demo, next to its state, the provider built from this work tree in a
# filesystem mirror, and a CLI configuration of its own (TF_CLI_CONFIG_FILE): nothing is
# written to the work tree or to ~/.terraformrc, and a fresh clone finds the same demo as
# long as the cluster's state is kept (make cluster-reset wipes both).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${CONTAINERDRIVER_CLUSTER_DIR:-/var/tmp/containerdriver-cluster}
DIR=${DIR%/}
WORK=$DIR/demo
ADMIN_KUBECONFIG=$DIR/kubeconfig/admin.kubeconfig
# The version the provider is installed under in the mirror; any version would do, since
# the example does not constrain it.
PROVIDER_VERSION=0.0.1
export CGO_ENABLED=0

say() { echo "demo: $*"; }
die() {
	echo "demo: ERROR: $*" >&2
	exit 1
}
now_ms() { date +%s%3N; }
secs() { local d=$(($(now_ms) - $1)); printf '%d.%d' $((d / 1000)) $((d % 1000 / 100)); }

action=${1:-up}
case $action in up | destroy) ;; *) die "usage: demo.sh up|destroy" ;; esac
T0=$(now_ms)

# Which CLI drives the example.
if command -v terraform >/dev/null; then
	TF=$(command -v terraform)
elif [ -x "$DIR/bin/tofu" ]; then
	TF=$DIR/bin/tofu
elif command -v tofu >/dev/null; then
	TF=$(command -v tofu)
else
	TF=""
fi

# The cluster.
local_cluster=1
if [ -n "${KUBECONFIG:-}" ] && [ "$KUBECONFIG" != "$ADMIN_KUBECONFIG" ]; then
	local_cluster=0
	export KUBE_CONFIG_PATHS=$KUBECONFIG
	unset KUBE_CONFIG_PATH
	say "using the cluster of KUBECONFIG=$KUBECONFIG"
fi

cli_config() {
	mkdir -p "$WORK"
	cat >"$WORK/terraform.tfrc" <<EOF
# Written by examples/quickstart/demo.sh: the containerdriver provider comes from the
# filesystem mirror below (built from the work tree), everything else from the registry.
provider_installation {
  filesystem_mirror {
    path    = "$WORK/plugins"
    include = ["registry.terraform.io/containerdriver/containerdriver", "registry.opentofu.org/containerdriver/containerdriver"]
  }
  direct {
    exclude = ["registry.terraform.io/containerdriver/containerdriver", "registry.opentofu.org/containerdriver/containerdriver"]
  }
}
EOF
	export TF_CLI_CONFIG_FILE=$WORK/terraform.tfrc
	export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
	unset TF_DATA_DIR TF_WORKSPACE
	if [ $local_cluster = 1 ]; then
		export KUBE_CONFIG_PATH=$ADMIN_KUBECONFIG
		unset KUBE_CONFIG_PATHS
		export CONTAINERDRIVER_SIDECAR_IMAGE=${SIDECAR_IMAGE:-containerdriver.local/sidecars:dev}
		export TF_VAR_runner_image=${RUNNER_IMAGE:-containerdriver.local/opentofu-runner:dev}
	else
		[ -z "${SIDECAR_IMAGE:-}" ] || export CONTAINERDRIVER_SIDECAR_IMAGE=$SIDECAR_IMAGE
		export TF_VAR_runner_image=$RUNNER_IMAGE
	fi
}

if [ "$action" = destroy ]; then
	if [ ! -f "$WORK/config/terraform.tfstate" ]; then
		say "nothing to destroy (no state in $WORK/config)"
		exit 0
	fi
	# The images "up" used: a destroy runs the same sidecar image.
	if [ -f "$WORK/images.env" ]; then
		# shellcheck disable=SC1091
		source "$WORK/images.env"
	fi
	[ -n "$TF" ] || die "neither terraform nor tofu is installed"
	if [ $local_cluster = 1 ]; then
		make -s -C "$ROOT" cluster-up
	else
		RUNNER_IMAGE=${RUNNER_IMAGE:-unused}
	fi
	cli_config
	say "$(basename "$TF") destroy (each run's Job runs ACTION=destroy: tofu destroy)"
	"$TF" -chdir="$WORK/config" destroy -auto-approve -input=false
	say "destroyed in $(secs "$T0")s"
	exit 0
fi

if [ $local_cluster = 0 ] && [ -z "${RUNNER_IMAGE:-}" ]; then
	die "KUBECONFIG names a cluster of yours, which cannot see this machine's images: build templates/opentofu/Dockerfile, push it, and run RUNNER_IMAGE=<that image> make demo (SIDECAR_IMAGE likewise for the sidecar image, if not the released one)"
fi

# 1. The Debian packages, the cluster, and OpenTofu (the runner image's tool, and the CLI
# when terraform is missing).
"$ROOT/hack/cluster/bootstrap.sh" packages
if [ $local_cluster = 1 ]; then
	say "bringing up the local cluster (the first time builds Kubernetes: 5-10 minutes)"
	make -s -C "$ROOT" cluster-up
	make -s -C "$ROOT" tofu
	[ -n "$TF" ] || TF=$DIR/bin/tofu
fi
[ -n "$TF" ] || die "neither terraform nor tofu is installed (make tofu builds OpenTofu)"
T1=$(now_ms)

# 2. The images, imported into the local cluster: the sidecars (make images) and the
# OpenTofu runner (templates/opentofu).
if [ $local_cluster = 1 ]; then
	make -s -C "$ROOT" images
	"$ROOT/templates/images.sh" opentofu
fi
T2=$(now_ms)

# 3. The provider, into the filesystem mirror under both registries' names.
platform=$(go env GOOS)_$(go env GOARCH)
mkdir -p "$WORK/plugins"
bin=$WORK/terraform-provider-containerdriver
(cd "$ROOT" && go build -trimpath -o "$bin.new" .)
changed=1
if [ -f "$bin" ] && cmp -s "$bin" "$bin.new"; then
	changed=0
fi
mv -f "$bin.new" "$bin"
for host in registry.terraform.io registry.opentofu.org; do
	d=$WORK/plugins/$host/containerdriver/containerdriver/$PROVIDER_VERSION/$platform
	mkdir -p "$d"
	ln -f "$bin" "$d/terraform-provider-containerdriver_v$PROVIDER_VERSION"
done
say "provider: built (mirror $WORK/plugins)"
T3=$(now_ms)

# 4. The example, in a copy next to its state.
cli_config
printf 'RUNNER_IMAGE=${RUNNER_IMAGE:-%q}\nSIDECAR_IMAGE=${SIDECAR_IMAGE:-%q}\n' \
	"$TF_VAR_runner_image" "${CONTAINERDRIVER_SIDECAR_IMAGE:-}" >"$WORK/images.env"
mkdir -p "$WORK/config"
cp "$HERE/main.tf" "$WORK/config/main.tf"
rm -rf "$WORK/config/module"
cp -r "$HERE/module" "$WORK/config/module"
# A rebuilt provider has other checksums than the lock file recorded.
[ $changed = 0 ] || rm -f "$WORK/config/.terraform.lock.hcl"
tool=$(basename "$TF")
say "$tool init"
"$TF" -chdir="$WORK/config" init -input=false >"$WORK/init.log" 2>&1 || {
	cat "$WORK/init.log" >&2
	die "$tool init failed"
}
say "$tool apply: a Job runs the OpenTofu runner in namespace containerdriver-quickstart"
"$TF" -chdir="$WORK/config" apply -auto-approve -input=false
T4=$(now_ms)

# 5. A second plan must find nothing to do: the run is stable across re-applies. Its
# refresh runs OpenTofu's plan of the module in the cluster (plan.detect_drift), which must
# find nothing either ("Runner Plan: no changes").
set +e
"$TF" -chdir="$WORK/config" plan -detailed-exitcode -input=false -no-color >"$WORK/replan.log" 2>&1
rc=$?
set -e
case $rc in
0)
	grep -q "Runner Plan: no changes" "$WORK/replan.log" ||
		die "the second plan does not show the runner's own plan (see $WORK/replan.log)"
	say "a second plan finds no changes, and so does OpenTofu's plan of the module, run in the cluster"
	;;
2) say "WARNING: a second plan wants changes (see $WORK/replan.log)" ;;
*)
	cat "$WORK/replan.log" >&2
	die "the second plan failed"
	;;
esac

echo
echo "Outputs of containerdriver_run.hello (from OpenTofu, inside the cluster):"
"$TF" -chdir="$WORK/config" output
echo
echo "The sensitive output came back too: $tool output -raw password -> $("$TF" -chdir="$WORK/config" output -raw password)"
echo
say "done in $(secs "$T0")s (cluster and tofu $(((T1 - T0) / 1000))s, images $(((T2 - T1) / 1000))s, provider $(((T3 - T2) / 1000))s, init and apply $(((T4 - T3) / 1000))s)"
state_cmd=$("$TF" -chdir="$WORK/config" output -raw state)
if [ $local_cluster = 1 ]; then
	say "the module's state, kept in the cluster by the runner: eval \"\$(make -s cluster-env)\"; $state_cmd"
else
	say "the module's state, kept in the cluster by the runner: $state_cmd"
fi
say "undo it all: make demo-destroy"
