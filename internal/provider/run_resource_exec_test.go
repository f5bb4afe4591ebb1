package provider

import (
	"context"
	"errors"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

// fakePrivate is the framework's private state as a map.
type fakePrivate map[string][]byte

func (p fakePrivate) GetKey(_ context.Context, key string) ([]byte, diag.Diagnostics) {
	return p[key], nil
}

func (p fakePrivate) SetKey(_ context.Context, key string, value []byte) diag.Diagnostics {
	p[key] = value
	return nil
}

func fakeRunResource(objs ...runtime.Object) (*runResource, *fake.Clientset) {
	c := fake.NewClientset(objs...)
	return &runResource{data: &providerData{sidecarImage: "sidecar:1", kube: &kubeClient{client: c}}}, c
}

func TestRunResource_NotConfigured(t *testing.T) {
	r := &runResource{}
	ctx := context.Background()
	check := func(what string, diags diag.Diagnostics) {
		t.Helper()
		if !diags.HasError() || diags.Errors()[0].Summary() != "Provider Not Configured" {
			t.Errorf("%s: want Provider Not Configured, got %v", what, diags)
		}
	}
	spec, _, diags := r.runSpec(ctx, &runResourceModel{})
	if spec != nil {
		t.Error("runSpec gave a spec without a provider")
	}
	check("runSpec", diags)
	exec, diags := r.executor(ctx)
	if exec != nil {
		t.Error("executor gave an executor without a provider")
	}
	check("executor", diags)
	spec, exec, diags = r.plumb(ctx, &runResourceModel{})
	if spec != nil || exec != nil {
		t.Error("plumb gave a spec or an executor without a provider")
	}
	check("plumb", diags)
}

func TestRunResource_Executor(t *testing.T) {
	r, c := fakeRunResource()
	exec, diags := r.executor(context.Background())
	if diags.HasError() {
		t.Fatal(diags)
	}
	if exec.Client != c {
		t.Error("the executor does not use the provider's client")
	}
	if _, ok := exec.Observer.(tflogObserver); !ok {
		t.Errorf("observer %T, want the Terraform log", exec.Observer)
	}
	unknown := &runResource{data: &providerData{kube: &kubeClient{unknown: []string{"host"}}}}
	if exec, diags := unknown.executor(context.Background()); exec != nil || !diags.HasError() || diags.Errors()[0].Summary() != "Provider Configuration Not Known" {
		t.Errorf("an unknown provider configuration: %v %v", exec, diags)
	}
}

func TestSetResult(t *testing.T) {
	for _, tt := range []struct {
		name          string
		asJSON        bool
		res           containerdriver.Result
		wantNamespace string
	}{
		{name: "plain", res: containerdriver.Result{
			Outputs: map[string]any{"url": "https://x"}, SecretOutputs: map[string]any{"token": "s3cr3t!"},
			Manifests: []any{map[string]any{"kind": "ConfigMap"}}, GitCommit: "abc123", ImageID: "reg/img@sha256:1", JobName: "job-1",
			Namespace: "ns-run", StateBytes: 42, Runner: containerdriver.RunnerStatus{State: "terminated", ExitCode: 0, ImageID: "reg/img@sha256:1"},
		}, wantNamespace: "ns-run"},
		{name: "no manifests, namespace kept", res: containerdriver.Result{JobName: "job-2"}, wantNamespace: "ns-model"},
		{name: "secret outputs as JSON", asJSON: true, res: containerdriver.Result{SecretOutputs: map[string]any{"token": "s3cr3t!"}, JobName: "job-3"}, wantNamespace: "ns-model"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := &runResourceModel{Namespace: types.StringValue("ns-model"), SecretOutputsAsJSON: types.BoolValue(tt.asJSON)}
			if diags := m.setResult(&tt.res); diags.HasError() {
				t.Fatal(diags)
			}
			if m.JobName.ValueString() != tt.res.JobName || m.GitCommit.ValueString() != tt.res.GitCommit || m.ImageDigest.ValueString() != tt.res.ImageID {
				t.Errorf("job %s commit %s digest %s, want %s %s %s", m.JobName, m.GitCommit, m.ImageDigest, tt.res.JobName, tt.res.GitCommit, tt.res.ImageID)
			}
			if m.Namespace.ValueString() != tt.wantNamespace {
				t.Errorf("namespace %s, want %s", m.Namespace, tt.wantNamespace)
			}
			if m.StateSize.ValueInt64() != tt.res.StateBytes || m.RunnerStatus.Attributes()["state"] != types.StringValue(tt.res.Runner.State) {
				t.Errorf("state size %s, runner status %s", m.StateSize, m.RunnerStatus)
			}
			outs, _, err := dynamicToGo(m.Outputs)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(outs.(map[string]any)), len(tt.res.Outputs); got != want {
				t.Errorf("outputs %v, want %v", outs, tt.res.Outputs)
			}
			if tt.asJSON {
				if !m.SecretOutputs.IsNull() || !m.Manifests.IsNull() || m.SecretOutputsJSON.ValueString() != `{"token":"s3cr3t!"}` {
					t.Errorf("as JSON: secret_outputs %s, manifests %s, secret_outputs_json %s", m.SecretOutputs, m.Manifests, m.SecretOutputsJSON)
				}
				return
			}
			if !m.SecretOutputsJSON.IsNull() {
				t.Errorf("secret_outputs_json %s, want null", m.SecretOutputsJSON)
			}
			secrets, _, _ := dynamicToGo(m.SecretOutputs)
			if got := secrets.(map[string]any)["token"]; got != tt.res.SecretOutputs["token"] {
				t.Errorf("secret output token %v", got)
			}
			manifests, _, _ := dynamicToGo(m.Manifests)
			if l, ok := manifests.([]any); !ok || len(l) != len(tt.res.Manifests) {
				t.Errorf("manifests %#v, want a list of %d (never null)", manifests, len(tt.res.Manifests))
			}
		})
	}
}

func TestSetFailedResult(t *testing.T) {
	m := &runResourceModel{Namespace: types.StringValue("ns-model"), StateSize: types.Int64Value(7)}
	if diags := m.setFailedResult(&containerdriver.RunError{JobName: "job-1"}); diags.HasError() {
		t.Fatal(diags)
	}
	if m.JobName.ValueString() != "job-1" || m.Namespace.ValueString() != "ns-model" || !m.ImageDigest.IsNull() || m.StateSize.ValueInt64() != 7 {
		t.Errorf("without a runner status: job %s namespace %s digest %s state size %s", m.JobName, m.Namespace, m.ImageDigest, m.StateSize)
	}

	two := int32(2)
	e := &containerdriver.RunError{JobName: "job-2", Namespace: "ns-run", Container: "runner", Reason: "Error", ExitCode: &two, ErrorFile: "bucket exists",
		Runner: &containerdriver.RunnerStatus{State: "terminated", ExitCode: 2, ImageID: "reg/img@sha256:2"}}
	if diags := m.setFailedResult(e); diags.HasError() {
		t.Fatal(diags)
	}
	if m.JobName.ValueString() != "job-2" || m.Namespace.ValueString() != "ns-run" || m.ImageDigest.ValueString() != "reg/img@sha256:2" {
		t.Errorf("job %s namespace %s digest %s", m.JobName, m.Namespace, m.ImageDigest)
	}
	if !m.StateSize.IsNull() {
		t.Errorf("state size %s, want null after a failure", m.StateSize)
	}
	if got := m.RunnerStatus.Attributes()["error_digest"]; got != types.StringValue(e.Digest()) || e.Digest() == "" {
		t.Errorf("error_digest %s, want %s", got, e.Digest())
	}
	if e.Runner.ErrorDigest != "" {
		t.Error("the run error's runner status was changed")
	}
}

func TestSetEmptyResult(t *testing.T) {
	for _, tt := range []struct {
		namespace, want types.String
	}{
		{types.StringUnknown(), types.StringNull()},
		{types.StringValue("ns1"), types.StringValue("ns1")},
	} {
		m := &runResourceModel{Namespace: tt.namespace, JobName: types.StringValue("j"), Outputs: types.DynamicUnknown(), StateSize: types.Int64Unknown()}
		setEmptyResult(m)
		if !m.Namespace.Equal(tt.want) {
			t.Errorf("namespace %s: %s, want %s", tt.namespace, m.Namespace, tt.want)
		}
		for name, v := range map[string]attr.Value{
			"outputs": m.Outputs, "secret_outputs": m.SecretOutputs, "manifests": m.Manifests, "secret_outputs_json": m.SecretOutputsJSON,
			"git_commit": m.GitCommit, "image_digest": m.ImageDigest, "job_name": m.JobName, "state_size": m.StateSize, "runner_status": m.RunnerStatus,
		} {
			if !v.IsNull() {
				t.Errorf("%s = %s, want null", name, v)
			}
		}
	}
}

func TestCopyResult(t *testing.T) {
	from := &runResourceModel{}
	if diags := from.setResult(&containerdriver.Result{Outputs: map[string]any{"a": "b"}, GitCommit: "c", ImageID: "d", JobName: "j", StateBytes: 3}); diags.HasError() {
		t.Fatal(diags)
	}
	from.SecretOutputsJSON = types.StringValue("{}")
	to := &runResourceModel{ID: types.StringValue("keep"), Namespace: types.StringValue("ns")}
	to.copyResult(from)
	for name, p := range map[string][2]attr.Value{
		"outputs": {to.Outputs, from.Outputs}, "secret_outputs": {to.SecretOutputs, from.SecretOutputs}, "manifests": {to.Manifests, from.Manifests},
		"secret_outputs_json": {to.SecretOutputsJSON, from.SecretOutputsJSON}, "git_commit": {to.GitCommit, from.GitCommit},
		"image_digest": {to.ImageDigest, from.ImageDigest}, "job_name": {to.JobName, from.JobName}, "state_size": {to.StateSize, from.StateSize},
		"runner_status": {to.RunnerStatus, from.RunnerStatus},
	} {
		if !p[0].Equal(p[1]) {
			t.Errorf("%s: %s, want %s", name, p[0], p[1])
		}
	}
	if to.ID.ValueString() != "keep" || to.Namespace.ValueString() != "ns" {
		t.Error("copyResult changed what is not a result")
	}
}

// TestConfirmRecorded: the create claim that the private state names is deleted, and the
// note removed; anything missing leaves the claim alone.
func TestConfirmRecorded(t *testing.T) {
	const id, ns = "run-1", "ns1"
	claim := func() runtime.Object {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: containerdriver.ClaimName(id), Namespace: ns}}
	}
	note := []byte(`{"namespace":"ns1"}`)
	for _, tt := range []struct {
		name      string
		id        string
		from      fakePrivate
		noData    bool
		failDel   bool
		wantGone  bool
		wantClear bool
	}{
		{name: "confirmed", id: id, from: fakePrivate{privateCreateClaim: note}, wantGone: true, wantClear: true},
		{name: "no note", id: id, from: fakePrivate{}},
		{name: "no run id", from: fakePrivate{privateCreateClaim: note}},
		{name: "note without a namespace", id: id, from: fakePrivate{privateCreateClaim: []byte(`{}`)}},
		{name: "note not JSON", id: id, from: fakePrivate{privateCreateClaim: []byte(`ns1`)}},
		{name: "no private state", id: id},
		{name: "provider not configured", id: id, from: fakePrivate{privateCreateClaim: note}, noData: true},
		{name: "delete fails", id: id, from: fakePrivate{privateCreateClaim: note}, failDel: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, c := fakeRunResource(claim())
			if tt.failDel {
				c.PrependReactor("delete", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, containerdriver.ClaimName(id), errors.New("no"))
				})
			}
			if tt.noData {
				r.data = nil
			}
			to := fakePrivate{privateCreateClaim: note}
			var from privateData
			if tt.from != nil {
				from = tt.from
			}
			r.confirmRecorded(context.Background(), tt.id, from, to)
			_, err := c.CoordinationV1().Leases(ns).Get(context.Background(), containerdriver.ClaimName(id), metav1.GetOptions{})
			if gone := apierrors.IsNotFound(err); gone != tt.wantGone {
				t.Errorf("claim deleted: %v, want %v (%v)", gone, tt.wantGone, err)
			}
			if cleared := to[privateCreateClaim] == nil; cleared != tt.wantClear {
				t.Errorf("note removed from the new private state: %v, want %v", cleared, tt.wantClear)
			}
		})
	}
	r, _ := fakeRunResource()
	r.confirmRecorded(context.Background(), id, fakePrivate{privateCreateClaim: note}, nil) // no claim in the cluster, no private state to write: no panic
}

func TestClaimReturned_NoClaim(t *testing.T) {
	r, c := fakeRunResource()
	r.claimReturned(context.Background(), nil, &runResourceModel{}, nil) // a nil response would panic if it were written
	if n := len(c.Actions()); n != 0 {
		t.Errorf("%d API calls without a claim", n)
	}
}
