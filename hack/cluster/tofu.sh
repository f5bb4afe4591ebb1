#!/bin/bash
# Builds OpenTofu (the version required by hack/tofu/go.mod) into $DIR/bin/tofu for the
# acceptance tests. Skipped when $DIR/bin/tofu already reports that version. Takes 3 to 5
# minutes cold.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SRC=$ROOT/hack/tofu
[ -f "$SRC/go.mod" ] || die "no $SRC/go.mod"
version=$(awk '$1 == "github.com/opentofu/opentofu" {print $2; exit}' "$SRC/go.mod")
[ -n "$version" ] || die "hack/tofu/go.mod does not require github.com/opentofu/opentofu"
# built_version: the version the binary reports (the empty CLI configuration keeps a
# missing TF_CLI_CONFIG_FILE from adding warnings).
built_version() { TF_CLI_CONFIG_FILE=/dev/null "$BIN/tofu" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/v\1/p'; }
if [ -x "$BIN/tofu" ] && [ "$(built_version)" = "$version" ]; then
	say "tofu $version: up to date"
	exit 0
fi
mkdir -p "$BIN"
T=$(now_ms)
say "building OpenTofu $version (3-5 minutes cold)"
out=$(mktemp "$BIN/.tofu.XXXXXX")
trap 'rm -f "$out"' EXIT
# version.dev=no makes it report the release version, as the official builds do, not
# "-dev" (a prerelease that version constraints treat differently).
(cd "$SRC" && go build -trimpath -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "$out" github.com/opentofu/opentofu/cmd/tofu) || die "building OpenTofu failed"
mv -f "$out" "$BIN/tofu"
[ "$(built_version)" = "$version" ] || die "the new tofu reports version '$(built_version)', want $version"
say "tofu $version: built in $(secs "$T")s"
