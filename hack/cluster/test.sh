#!/bin/bash
# The project's test command (make test): unit tests and cluster tests of every package,
# then the provider's acceptance tests with OpenTofu. Cluster tests may not skip
# (CONTAINERDRIVER_REQUIRE_CLUSTER=1): without a cluster they fail.
#
#   test.sh        everything: go test ./... with Terraform (when installed), then
#                  ./internal/provider/... with OpenTofu
#   test.sh acc    only the provider's acceptance tests, with both
#   test.sh smoke  the smoke subset ($SMOKE_TESTS: create, outputs, update, destroy,
#                  a failing runner, write-only secrets, plan preview) with both
#
# Versions: CONTAINERDRIVER_KUBE_VERSION (the local cluster is switched to it) and
# CONTAINERDRIVER_TOFU_VERSION (built when missing); both default to the newest tested
# (hack/cluster/go.mod, hack/tofu/go.mod). Each pass appends a line to $DIR/matrix.tsv,
# which make versions prints as a table.
#
# Missing Debian packages are installed first (as root), and without KUBECONFIG the local
# cluster is brought up (hack/cluster/bootstrap.sh): make test alone works on a fresh
# machine. KUBECONFIG defaults to the local cluster's. Extra go test flags:
# TESTARGS="-run X -v".
#
# A cluster of one's own (KUBECONFIG naming another cluster) needs no root and leaves the
# local cluster alone; its nodes get the test images through a registry,
# CONTAINERDRIVER_TEST_REGISTRY=host[:port][/path] (pushed with skopeo), or through
# `kind load` when CONTAINERDRIVER_KIND_CLUSTER names a kind cluster (taken from a current
# context kind-NAME when neither is set). OpenTofu is then built into
# $CONTAINERDRIVER_CLUSTER_DIR/bin when writable, else ${XDG_CACHE_HOME:-~/.cache}/containerdriver-cluster/bin.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MODE=${1:-all}
TIMEOUT=${GO_TEST_TIMEOUT:-60m}
# The smoke subset: the provider's acceptance tests of create + outputs + in-place update +
# destroy, a failing runner, write-only secrets, and plan preview + apply of the saved plan
# + drift + destroy; and the cluster tests of the cluster itself and of one Job run with
# its native sidecar (outputs-fetcher) without Terraform.
SMOKE_TESTS='^(TestAccRun_Lifecycle|TestAccRun_Failure|TestAccRun_WriteOnlySecrets|TestAccRunPlan_PreviewApplyDriftDestroy)$'
SMOKE_CLUSTER_PKGS=(./internal/testsupport/testcluster ./internal/containerdriver)
SMOKE_CLUSTER_TESTS='^(TestAccCluster_Smoke|TestAccExecutor_CreateDestroyOutputs)$'

read -r -a EXTRA <<<"${TESTARGS:-}"
cd "$ROOT"

"$CLUSTER_SRC/bootstrap.sh"
if [ -z "${KUBECONFIG:-}" ]; then
	export KUBECONFIG=$ADMIN_KUBECONFIG
fi
if [ "$KUBECONFIG" != "$ADMIN_KUBECONFIG" ]; then
	# A cluster of one's own: its nodes cannot see the local containerd's images.
	if [ -z "${CONTAINERDRIVER_TEST_REGISTRY:-}" ] && [ -z "${CONTAINERDRIVER_KIND_CLUSTER:-}" ]; then
		ctx=$(sed -n 's/^current-context: *"\{0,1\}kind-\([^"]*\)"\{0,1\} *$/\1/p' "${KUBECONFIG%%:*}" 2>/dev/null | head -n 1)
		[ -n "$ctx" ] || die "KUBECONFIG=$KUBECONFIG is not the local cluster: give its nodes the test images through a registry (CONTAINERDRIVER_TEST_REGISTRY=host[:port][/path], pushed with skopeo) or, for a kind cluster, CONTAINERDRIVER_KIND_CLUSTER=NAME"
		export CONTAINERDRIVER_KIND_CLUSTER=$ctx
	fi
	if [ -n "${CONTAINERDRIVER_TEST_REGISTRY:-}" ]; then
		command -v skopeo >/dev/null || die "CONTAINERDRIVER_TEST_REGISTRY is set and skopeo (which pushes the test images) is not on PATH: apt-get install skopeo"
		say "test images: pushed to $CONTAINERDRIVER_TEST_REGISTRY"
	else
		command -v kind >/dev/null || die "CONTAINERDRIVER_KIND_CLUSTER=$CONTAINERDRIVER_KIND_CLUSTER and kind is not on PATH"
		say "test images: kind load into the kind cluster $CONTAINERDRIVER_KIND_CLUSTER"
	fi
	# OpenTofu goes where this user may write (the local cluster's directory is root's).
	if ! { mkdir -p "$BIN" 2>/dev/null && [ -w "$BIN" ]; }; then
		export CONTAINERDRIVER_CLUSTER_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/containerdriver-cluster
		source "$CLUSTER_SRC/lib.sh"
		mkdir -p "$BIN"
		say "OpenTofu in $BIN (the default directory is not writable)"
	fi
fi
export CONTAINERDRIVER_REQUIRE_CLUSTER=1 TF_ACC=1
unset CONTAINERDRIVER_SKIP_CLUSTER
say "KUBECONFIG=$KUBECONFIG"

PROVIDER_PKGS=./internal/provider/...
have_provider=0
[ -d internal/provider ] && have_provider=1

"$CLUSTER_SRC/tofu.sh"
TOFU_ENV=(TF_ACC_TERRAFORM_PATH="$TOFU" TF_ACC_PROVIDER_HOST=registry.opentofu.org)
# The server's version, for the record: through the local cluster's kubectl, or the one on
# PATH for a cluster of one's own (none: "unknown", never a failure).
kubectl_cmd=("$(running_kube)" kubectl)
[ -x "${kubectl_cmd[0]}" ] || kubectl_cmd=(kubectl)
KUBE_RUNNING=$(KUBECONFIG=$KUBECONFIG "${kubectl_cmd[@]}" version -o json 2>/dev/null | sed -n '/"serverVersion"/,/}/s/.*"gitVersion": *"\([^"]*\)".*/\1/p' | head -n1 || true)
say "Kubernetes ${KUBE_RUNNING:-unknown}, OpenTofu $TOFU_VERSION"

failed=()
# record CLI SCOPE RESULT SECONDS: a line of $DIR/matrix.tsv (make versions prints them).
record() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "${KUBE_RUNNING:-unknown}" "$1" "$2" "$3" "$4" >>"$DIR/matrix.tsv"
}
run() { # NAME CLI SCOPE ENV... -- go test args...
	local name=$1 cli=$2 scope=$3 T
	shift 3
	T=$(now_ms)
	say "== $name"
	if env "$@"; then
		say "== $name: ok in $(secs "$T")s"
		record "$cli" "$scope" passed "$(secs "$T")"
	else
		say "== $name: FAILED after $(secs "$T")s"
		record "$cli" "$scope" FAILED "$(secs "$T")"
		failed+=("$name")
	fi
}

TF=$(command -v terraform || true)
TF_CLI=""
[ -z "$TF" ] || TF_CLI="terraform $("$TF" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/v\1/p')"
TOFU_CLI="opentofu $TOFU_VERSION"
if [ -z "$TF" ]; then
	cat >&2 <<'EOW'
################################################################################
## WARNING: terraform is not on PATH: the acceptance tests run with OpenTofu  ##
## only. Install Terraform to test the provider with both.                    ##
################################################################################
EOW
fi

case $MODE in
all)
	if [ -n "$TF" ]; then
		run "go test ./... (acceptance with Terraform $TF)" "$TF_CLI" "all packages" TF_ACC_TERRAFORM_PATH="$TF" go test ./... -count=1 -timeout "$TIMEOUT" "${EXTRA[@]}"
		if [ $have_provider = 1 ]; then
			run "provider acceptance with OpenTofu $TOFU_VERSION" "$TOFU_CLI" "provider acceptance" "${TOFU_ENV[@]}" go test $PROVIDER_PKGS -count=1 -timeout "$TIMEOUT" "${EXTRA[@]}"
		fi
	else
		# Without Terraform the one pass over every package already runs the provider's
		# acceptance tests with OpenTofu; a second pass would repeat it.
		run "go test ./... (acceptance with OpenTofu $TOFU_VERSION)" "$TOFU_CLI" "all packages" "${TOFU_ENV[@]}" go test ./... -count=1 -timeout "$TIMEOUT" "${EXTRA[@]}"
	fi
	;;
acc)
	[ $have_provider = 1 ] || die "no ./internal/provider package yet"
	[ -z "$TF" ] || run "provider acceptance with Terraform $TF" "$TF_CLI" "provider acceptance" TF_ACC_TERRAFORM_PATH="$TF" go test $PROVIDER_PKGS -count=1 -timeout "$TIMEOUT" "${EXTRA[@]}"
	run "provider acceptance with OpenTofu $TOFU_VERSION" "$TOFU_CLI" "provider acceptance" "${TOFU_ENV[@]}" go test $PROVIDER_PKGS -count=1 -timeout "$TIMEOUT" "${EXTRA[@]}"
	;;
smoke)
	[ $have_provider = 1 ] || die "no ./internal/provider package yet"
	run "smoke subset: cluster tests" "-" smoke go test "${SMOKE_CLUSTER_PKGS[@]}" -run "$SMOKE_CLUSTER_TESTS" -count=1 -timeout "$TIMEOUT" "${EXTRA[@]}"
	[ -z "$TF" ] || run "smoke subset with Terraform $TF" "$TF_CLI" smoke TF_ACC_TERRAFORM_PATH="$TF" go test ./internal/provider -run "$SMOKE_TESTS" -count=1 -timeout "$TIMEOUT" "${EXTRA[@]}"
	run "smoke subset with OpenTofu $TOFU_VERSION" "$TOFU_CLI" smoke "${TOFU_ENV[@]}" go test ./internal/provider -run "$SMOKE_TESTS" -count=1 -timeout "$TIMEOUT" "${EXTRA[@]}"
	;;
*) die "usage: test.sh [all|acc|smoke]" ;;
esac
[ $have_provider = 1 ] || say "note: ./internal/provider does not exist yet: no provider acceptance tests ran"
if [ ${#failed[@]} != 0 ]; then
	printf 'cluster: FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
say "all tests passed"
