#!/bin/bash
# The project's test command (make test): unit tests and cluster tests of every package,
# then the provider's acceptance tests with OpenTofu. Cluster tests may not skip
# (CONTAINERDRIVER_REQUIRE_CLUSTER=1): without a cluster they fail.
#
#   test.sh        everything: go test ./... with Terraform (when installed), then
#                  ./internal/provider/... with OpenTofu
#   test.sh acc    only the provider's acceptance tests, with both
#
# Missing Debian packages are installed first (as root), and without KUBECONFIG the local
# cluster is brought up (hack/cluster/bootstrap.sh): make test alone works on a fresh
# machine. KUBECONFIG defaults to the local cluster's. Extra go test flags:
# TESTARGS="-run X -v".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MODE=${1:-all}
TIMEOUT=${GO_TEST_TIMEOUT:-60m}
read -r -a EXTRA <<<"${TESTARGS:-}"
cd "$ROOT"

"$CLUSTER_SRC/bootstrap.sh"
if [ -z "${KUBECONFIG:-}" ]; then
	export KUBECONFIG=$ADMIN_KUBECONFIG
fi
export CONTAINERDRIVER_REQUIRE_CLUSTER=1 TF_ACC=1
unset CONTAINERDRIVER_SKIP_CLUSTER
say "KUBECONFIG=$KUBECONFIG"

PROVIDER_PKGS=./internal/provider/...
have_provider=0
[ -d internal/provider ] && have_provider=1

"$CLUSTER_SRC/tofu.sh"
TOFU_ENV=(TF_ACC_TERRAFORM_PATH="$BIN/tofu" TF_ACC_PROVIDER_HOST=registry.opentofu.org)

failed=()
run() { # NAME ENV... -- go test args...
	local name=$1 T
	shift
	T=$(now_ms)
	say "== $name"
	if env "$@"; then
		say "== $name: ok in $(secs "$T")s"
	else
		say "== $name: FAILED after $(secs "$T")s"
		failed+=("$name")
	fi
}

TF=$(command -v terraform || true)
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
		run "go test ./... (acceptance with Terraform $TF)" TF_ACC_TERRAFORM_PATH="$TF" go test ./... -count=1 -timeout "$TIMEOUT" "${EXTRA[@]}"
		if [ $have_provider = 1 ]; then
			run "provider acceptance with OpenTofu" "${TOFU_ENV[@]}" go test $PROVIDER_PKGS -count=1 -timeout "$TIMEOUT" "${EXTRA[@]}"
		fi
	else
		# Without Terraform the one pass over every package already runs the provider's
		# acceptance tests with OpenTofu; a second pass would repeat it.
		run "go test ./... (acceptance with OpenTofu)" "${TOFU_ENV[@]}" go test ./... -count=1 -timeout "$TIMEOUT" "${EXTRA[@]}"
	fi
	;;
acc)
	[ $have_provider = 1 ] || die "no ./internal/provider package yet"
	[ -z "$TF" ] || run "provider acceptance with Terraform $TF" TF_ACC_TERRAFORM_PATH="$TF" go test $PROVIDER_PKGS -count=1 -timeout "$TIMEOUT" "${EXTRA[@]}"
	run "provider acceptance with OpenTofu" "${TOFU_ENV[@]}" go test $PROVIDER_PKGS -count=1 -timeout "$TIMEOUT" "${EXTRA[@]}"
	;;
*) die "usage: test.sh [all|acc]" ;;
esac
[ $have_provider = 1 ] || say "note: ./internal/provider does not exist yet: no provider acceptance tests ran"
if [ ${#failed[@]} != 0 ]; then
	printf 'cluster: FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
say "all tests passed"
