#!/bin/bash
# Builds OpenTofu $TOFU_VERSION (CONTAINERDRIVER_TOFU_VERSION; default: the version
# hack/tofu/go.mod requires, into $DIR/bin/tofu; another one from
# hack/tofu/versions/V.mod into $DIR/bin/tofu-V) for the acceptance tests. Skipped when the
# binary already reports that version. Takes 3 to 6 minutes cold.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SRC=$ROOT/hack/tofu
[ -f "$SRC/$TOFU_MODFILE" ] || die "no module file for OpenTofu $TOFU_VERSION: write it with hack/cluster/tofu-mod.sh $TOFU_VERSION (then commit hack/tofu/versions/$TOFU_VERSION.{mod,sum})"
version=$(awk '$1 == "github.com/opentofu/opentofu" {print $2; exit}' "$SRC/$TOFU_MODFILE")
[ "$version" = "$TOFU_VERSION" ] || die "hack/tofu/$TOFU_MODFILE requires github.com/opentofu/opentofu '$version', not $TOFU_VERSION"
# built_version: the version the binary reports (the empty CLI configuration keeps a
# missing TF_CLI_CONFIG_FILE from adding warnings).
built_version() { TF_CLI_CONFIG_FILE=/dev/null "$TOFU" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/v\1/p'; }
if [ -x "$TOFU" ] && [ "$(built_version)" = "$version" ]; then
	say "tofu $version: up to date ($TOFU)"
	exit 0
fi
mkdir -p "$BIN"
T=$(now_ms)
say "building OpenTofu $version from hack/tofu/$TOFU_MODFILE (3-6 minutes cold)"
out=$(mktemp "$BIN/.tofu.XXXXXX")
trap 'rm -f "$out"' EXIT
# version.dev=no makes it report the release version, as the official builds do, not
# "-dev" (a prerelease that version constraints treat differently).
(cd "$SRC" && go build -modfile="$TOFU_MODFILE" -trimpath -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "$out" github.com/opentofu/opentofu/cmd/tofu) || die "building OpenTofu $version failed"
mv -f "$out" "$TOFU"
[ "$(built_version)" = "$version" ] || die "the new tofu reports version '$(built_version)', want $version"
say "tofu $version: built in $(secs "$T")s ($TOFU)"
