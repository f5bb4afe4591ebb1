#!/bin/bash
# make bench: runs hack/bench (TestBench) on the local cluster and regenerates the docs
# from the page it writes (docs-templates/guides/performance.md.tmpl ->
# docs/guides/performance.md). BENCH_ROUNDS (default 5), BENCH_SCALE_ROUNDS (default 1),
# BENCH_SCALES (default "10 50 200"), BENCH_DEFAULT_PARALLELISM_AT (default "50 200": those
# sizes also with Terraform's default -parallelism), BENCH_CONTROL_AT (default "50 200": the
# control row, bare pods with a native sidecar, at those sizes) and BENCH_PLAN_RUNS (default
# 20, the plan of that many previews) size it;
# BENCH_TF picks the CLI (default terraform, else OpenTofu). It needs the cluster (make
# cluster-up). The page says how long it took.
# BENCH_BEFORE=results.json (with BENCH_BEFORE_LABEL) shows the results of another run, e.g.
# of the code before a change, next to these; BENCH_RENDER=1 only rewrites the page from
# hack/bench/results.json (after editing hack/bench/notes.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
eval "$(hack/cluster/env.sh)"
export CONTAINERDRIVER_BENCH=1 CONTAINERDRIVER_REQUIRE_CLUSTER=1
cmd="make bench"
for v in BENCH_ROUNDS BENCH_SCALE_ROUNDS BENCH_SCALES BENCH_DEFAULT_PARALLELISM_AT BENCH_CONTROL_AT BENCH_PLAN_RUNS BENCH_TF; do
	[ -z "${!v:-}" ] || cmd="$v=${!v@Q} $cmd"
done
export BENCH_COMMAND=${BENCH_COMMAND:-$cmd}
go test ./hack/bench -run '^TestBench$' -count=1 -v -timeout 60m
[ -n "${BENCH_PAGE:-}" ] || make -s generate
