package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The kubelet's side of the many-run rows: how many runtime operations (its CRI calls to
// containerd: pod sandboxes, containers created, started and stopped) each row cost, and
// how long they took on average, from the kubelet's kubelet_runtime_operations_duration_seconds
// histogram read through the API server (nodes/proxy) before and after the row.

const runtimeOpsMetric = "kubelet_runtime_operations_duration_seconds"

// runtimeOp is how many operations of a type the kubelet made and their total duration.
type runtimeOp struct {
	Count   float64
	Seconds float64
}

// runtimeOpsShown are the operations the page shows, in a pod's order.
var runtimeOpsShown = []string{"run_podsandbox", "create_container", "start_container", "stop_container", "stop_podsandbox", "remove_container"}

// parseRuntimeOps reads the histogram's _sum and _count by operation_type from the
// kubelet's metrics (Prometheus text format).
func parseRuntimeOps(metrics string) map[string]runtimeOp {
	ops := map[string]runtimeOp{}
	for l := range strings.Lines(metrics) {
		rest, ok := strings.CutPrefix(l, runtimeOpsMetric+"_")
		if !ok {
			continue
		}
		kind, labels, ok := strings.Cut(rest, "{")
		if !ok || (kind != "sum" && kind != "count") {
			continue
		}
		_, typ, ok := strings.Cut(labels, `operation_type="`)
		if !ok {
			continue
		}
		typ, after, ok := strings.Cut(typ, `"`)
		if !ok {
			continue
		}
		_, value, ok := strings.Cut(after, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		op := ops[typ]
		if kind == "sum" {
			op.Seconds = v
		} else {
			op.Count = v
		}
		ops[typ] = op
	}
	return ops
}

// sinceOps is after minus before, for the operations that happened in between.
func sinceOps(before, after map[string]runtimeOp) map[string]runtimeOp {
	d := map[string]runtimeOp{}
	for typ, a := range after {
		if n := a.Count - before[typ].Count; n > 0 {
			d[typ] = runtimeOp{Count: n, Seconds: a.Seconds - before[typ].Seconds}
		}
	}
	return d
}

// runtimeOps reads the node's counters now, or nil when the metrics cannot be read (the
// benchmark goes on without them).
func (b *bench) runtimeOps() map[string]runtimeOp {
	if b.node == "" {
		return nil
	}
	out, err := b.try(nil, "kubectl", "get", "--raw", "/api/v1/nodes/"+b.node+"/proxy/metrics")
	if err != nil {
		return nil
	}
	return parseRuntimeOps(out)
}

// withRuntimeOps measures row with f, and keeps the kubelet's runtime operations of it.
func (b *bench) withRuntimeOps(row string, f func() time.Duration) {
	before := b.runtimeOps()
	b.measure(row, f)
	if after := b.runtimeOps(); before != nil && after != nil && len(b.res.Samples[row]) > 0 {
		if b.res.RuntimeOps == nil {
			b.res.RuntimeOps = map[string]map[string]runtimeOp{}
		}
		b.res.RuntimeOps[row] = sinceOps(before, after)
	}
}

// runtimeOpsSection is the page's table of the kubelet's operations by many-run row.
func (r *results) runtimeOpsSection(p func(string, ...any)) {
	var rows []string
	for _, n := range r.Scales {
		for _, row := range []string{rowPods(n), rowPodsSidecar(n), rowRuns(n), rowRunsAt(n, defaultParallelism)} {
			if r.RuntimeOps[row] != nil {
				rows = append(rows, row)
			}
		}
	}
	if len(rows) == 0 {
		return
	}
	p("\n### The kubelet's runtime operations\n\nThe kubelet's calls to the container runtime during each row (its " +
		"`" + runtimeOpsMetric + "`, read before and after the row, the deletion of its pods included; the last round; " +
		"other pods of the node count too): how many, and their mean duration. On a node that starts many containers at " +
		"once each of them takes longer.\n\n")
	p("| row |")
	for _, op := range runtimeOpsShown {
		p(" %s |", op)
	}
	p("\n|---|%s\n", strings.Repeat("---|", len(runtimeOpsShown)))
	for _, row := range rows {
		p("| %s |", row)
		for _, op := range runtimeOpsShown {
			o, ok := r.RuntimeOps[row][op]
			if !ok || o.Count == 0 {
				p(" |")
				continue
			}
			p(" %.0f, %.2f s |", o.Count, o.Seconds/o.Count)
		}
		p("\n")
	}
}

// The kubelet's histogram is read by operation, and a row's operations are the difference.
func TestRuntimeOps(t *testing.T) {
	before := parseRuntimeOps(`# HELP kubelet_runtime_operations_duration_seconds [ALPHA] Duration in seconds of runtime operations.
# TYPE kubelet_runtime_operations_duration_seconds histogram
kubelet_runtime_operations_duration_seconds_bucket{operation_type="create_container",le="0.005"} 0
kubelet_runtime_operations_duration_seconds_sum{operation_type="create_container"} 10.5
kubelet_runtime_operations_duration_seconds_count{operation_type="create_container"} 7
kubelet_runtime_operations_duration_seconds_sum{operation_type="version"} 1
kubelet_runtime_operations_duration_seconds_count{operation_type="version"} 3
kubelet_runtime_operations_total{operation_type="create_container"} 7
`)
	if got := before["create_container"]; got != (runtimeOp{Count: 7, Seconds: 10.5}) {
		t.Errorf("create_container = %+v, want 7 in 10.5 s", got)
	}
	after := map[string]runtimeOp{"create_container": {Count: 17, Seconds: 40.5}, "version": {Count: 3, Seconds: 1}, "start_container": {Count: 4, Seconds: 2}}
	d := sinceOps(before, after)
	want := map[string]runtimeOp{"create_container": {Count: 10, Seconds: 30}, "start_container": {Count: 4, Seconds: 2}}
	if fmt.Sprint(d) != fmt.Sprint(want) {
		t.Errorf("sinceOps = %v, want %v", d, want)
	}

	r := &results{Scales: []int{200}, RuntimeOps: map[string]map[string]runtimeOp{rowPods(200): d}}
	var page strings.Builder
	r.runtimeOpsSection(func(f string, a ...any) { fmt.Fprintf(&page, f, a...) })
	if want := "| 200 bare pods started at once | | 10, 3.00 s | 4, 0.50 s |"; !strings.Contains(page.String(), want) {
		t.Errorf("the section lacks %q:\n%s", want, page.String())
	}
	if !slices.Contains(runtimeOpsShown, "run_podsandbox") {
		t.Error("the pod sandbox is not shown")
	}
}
