package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// configValue builds a configuration value of type typ from plain Go values: nil is null,
// a map[string]any an object (missing attributes null), map[string]string a map, []string
// a list or set, string and bool themselves.
func configValue(t *testing.T, typ tftypes.Type, v any) tftypes.Value {
	t.Helper()
	if v == nil {
		return tftypes.NewValue(typ, nil)
	}
	if v, ok := v.(tftypes.Value); ok {
		return v
	}
	switch typ := typ.(type) {
	case tftypes.Object:
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("want map[string]any for %s, got %T", typ, v)
		}
		vals := map[string]tftypes.Value{}
		for name, at := range typ.AttributeTypes {
			vals[name] = configValue(t, at, m[name])
		}
		for name := range m {
			if _, ok := typ.AttributeTypes[name]; !ok {
				t.Fatalf("no attribute %q in %s", name, typ)
			}
		}
		return tftypes.NewValue(typ, vals)
	case tftypes.Map:
		vals := map[string]tftypes.Value{}
		for k, e := range v.(map[string]string) {
			vals[k] = configValue(t, typ.ElementType, e)
		}
		return tftypes.NewValue(typ, vals)
	case tftypes.List:
		var vals []tftypes.Value
		for _, e := range v.([]string) {
			vals = append(vals, configValue(t, typ.ElementType, e))
		}
		return tftypes.NewValue(typ, vals)
	}
	if typ.Is(tftypes.DynamicPseudoType) {
		switch v := v.(type) {
		case string:
			return tftypes.NewValue(tftypes.DynamicPseudoType, tftypes.NewValue(tftypes.String, v))
		case map[string]string:
			mt := tftypes.Map{ElementType: tftypes.String}
			return tftypes.NewValue(tftypes.DynamicPseudoType, configValue(t, mt, v))
		}
	}
	return tftypes.NewValue(typ, v)
}

// validate runs the provider's ValidateResourceConfig (attribute validators and the
// resource's ValidateConfig) on a configuration, as Terraform does at plan time.
func validate(t *testing.T, typeName string, config map[string]any) []*tfprotov6.Diagnostic {
	t.Helper()
	ctx := context.Background()
	srv := providerserver.NewProtocol6(New("test")())()
	schemas, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ := schemas.ResourceSchemas[typeName].ValueType()
	dv, err := tfprotov6.NewDynamicValue(typ, configValue(t, typ, config))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: typeName, Config: &dv})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Diagnostics
}

func diagString(d *tfprotov6.Diagnostic) string {
	return fmt.Sprintf("%s %v %q: %q", d.Severity, d.Attribute, d.Summary, d.Detail)
}

func protoPath(steps ...any) *tftypes.AttributePath {
	p := tftypes.NewAttributePath()
	for _, s := range steps {
		switch s := s.(type) {
		case string:
			p = p.WithAttributeName(s)
		case mapKey:
			p = p.WithElementKeyString(string(s))
		}
	}
	return p
}

type mapKey string

// TestDiagnostics_PlanTime checks, for each configuration error the provider reports at
// plan time, the attribute the diagnostic points at, its summary, that its text names the
// attribute, and its hint.
func TestDiagnostics_PlanTime(t *testing.T) {
	job := map[string]any{"image": "registry.example/runner:1.0", "service_account": "runner"}
	jobWith := func(k string, v any) map[string]any {
		m := map[string]any{k: v}
		for a, b := range job {
			if a != k {
				m[a] = b
			}
		}
		return m
	}
	for _, tt := range []struct {
		name     string
		typeName string
		config   map[string]any
		path     *tftypes.AttributePath
		summary  string
		want     []string // substrings of the detail
		wantNot  []string
	}{
		{
			name: "timeouts.create not a duration", typeName: "containerdriver_run",
			config:  map[string]any{"job": job, "timeouts": map[string]any{"create": "5 minutes"}},
			path:    protoPath("timeouts", "create"),
			summary: "Invalid Timeout",
			want:    []string{`timeouts.create: "5 minutes" is not a duration`, `timeouts = { create = "30m" }`},
		},
		{
			name: "runner timeouts.delete not a duration", typeName: "containerdriver_runner",
			config:  map[string]any{"timeouts": map[string]any{"delete": "soon"}},
			path:    protoPath("timeouts", "delete"),
			summary: "Invalid Timeout",
			want:    []string{`timeouts.delete: "soon" is not a duration`, `timeouts = { delete = "30m" }`},
		},
		{
			name: "job.pod_template not YAML", typeName: "containerdriver_run",
			config:  map[string]any{"job": jobWith("pod_template", "spec: [not: yaml")},
			path:    protoPath("job", "pod_template"),
			summary: "Invalid Pod Template",
			want:    []string{"job.pod_template: not a valid pod template", "Give job.pod_template a PodTemplateSpec in YAML"},
		},
		{
			name: "job.pod_template overrides the runner's image", typeName: "containerdriver_run",
			config:  map[string]any{"job": jobWith("pod_template", "spec:\n  containers:\n  - name: runner\n    image: x:1\n")},
			path:    protoPath("job", "pod_template"),
			summary: "Invalid Pod Template",
			want:    []string{"job.pod_template: spec.containers[runner].image cannot be overridden: use job.image", "Remove these fields from job.pod_template"},
		},
		{
			name: "the run's runner.pod_template sets the namespace", typeName: "containerdriver_run",
			config: map[string]any{"job": job, "runner": map[string]any{
				"namespace": "a", "service_account": "r", "pod_template": "metadata:\n  namespace: b\n",
			}},
			path:    protoPath("runner", "pod_template"),
			summary: "Invalid Pod Template",
			want:    []string{"runner.pod_template: metadata.namespace cannot be overridden", "Remove these fields from runner.pod_template"},
			wantNot: []string{"job.pod_template"},
		},
		{
			name: "containerdriver_runner pod_template", typeName: "containerdriver_runner",
			config:  map[string]any{"pod_template": "spec:\n  containers:\n  - name: runner\n    command: [sh]\n"},
			path:    protoPath("pod_template"),
			summary: "Invalid Pod Template",
			want:    []string{"pod_template: spec.containers[runner].command cannot be overridden: use job.command", "Remove these fields from pod_template"},
		},
		{
			name: "a file outside the shared directory", typeName: "containerdriver_run",
			config:  map[string]any{"job": job, "files": map[string]string{"../x": "a"}},
			path:    protoPath("files", mapKey("../x")),
			summary: "Invalid Run Configuration",
			want:    []string{`files["../x"]: the path must not contain '..'`, `for example "conf/app.json"`},
			wantNot: []string{`use "../x"`},
		},
		{
			name: "an unclean file path", typeName: "containerdriver_run",
			config:  map[string]any{"job": job, "secret_files": map[string]string{"conf/../app.json": "a"}},
			path:    protoPath("secret_files", mapKey("conf/../app.json")),
			summary: "Invalid Run Configuration",
			want:    []string{`(use "app.json")`},
		},
		{
			name: "an image reference", typeName: "containerdriver_run",
			config:  map[string]any{"job": jobWith("image", "Registry.Example/UPPER:tag")},
			path:    protoPath("job", "image"),
			summary: "Invalid Image Reference",
			want:    []string{"job.image: "},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds := validate(t, tt.typeName, tt.config)
			var found *tfprotov6.Diagnostic
			var all []string
			for _, d := range ds {
				all = append(all, diagString(d))
				if d.Attribute != nil && d.Attribute.Equal(tt.path) {
					found = d
				}
			}
			if found == nil {
				t.Fatalf("no diagnostic on %s; got:\n%s", tt.path, strings.Join(all, "\n"))
			}
			if found.Severity != tfprotov6.DiagnosticSeverityError || found.Summary != tt.summary {
				t.Errorf("got %s %q, want error %q", found.Severity, found.Summary, tt.summary)
			}
			for _, w := range tt.want {
				if !strings.Contains(found.Detail, w) {
					t.Errorf("detail lacks %q:\n%s", w, found.Detail)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(found.Detail, w) {
					t.Errorf("detail has %q:\n%s", w, found.Detail)
				}
			}
		})
	}
}

func TestTimeoutHint_ExactText(t *testing.T) {
	for _, tt := range []struct {
		action  string
		timeout time.Duration
		want    string
	}{
		{contract.ActionCreate, 20 * time.Minute, `Raise the timeout if the runner needs longer: timeouts = { create = "40m0s", update = "40m0s" } (create bounds the first run, update the runs after a change).`},
		{contract.ActionDestroy, 5 * time.Minute, `Raise the timeout if the runner needs longer: timeouts = { delete = "10m0s" }.`},
		{contract.ActionCreate, 0, `Raise the timeout if the runner needs longer: timeouts = { create = "1h", update = "1h" } (create bounds the first run, update the runs after a change).`},
	} {
		if got := timeoutHint(tt.action, tt.timeout); got != tt.want {
			t.Errorf("timeoutHint(%s, %s) =\n%s\nwant\n%s", tt.action, tt.timeout, got, tt.want)
		}
	}
	got := runTimeoutDetail(contract.ActionCreate, "ns1", 20*time.Minute, context.DeadlineExceeded)
	want := "The create run in namespace ns1 did not finish within 20m0s: context deadline exceeded\n\n" +
		`Raise the timeout if the runner needs longer: timeouts = { create = "40m0s", update = "40m0s" } (create bounds the first run, update the runs after a change). ` +
		"To see what it was doing, set keep_job = true and inspect the Job (kubectl -n ns1 get jobs -l containerdriver.io/action=create)."
	if got != want {
		t.Errorf("runTimeoutDetail =\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(got, "timeouts {") {
		t.Error("the hint uses block syntax; timeouts is an attribute")
	}
}

// TestDiagnostics_RunFailures checks the diagnostic of each way a run can fail: the
// attribute it points at, and a hint that fits what happened.
func TestDiagnostics_RunFailures(t *testing.T) {
	zero, two, oom := int32(0), int32(2), int32(137)
	noErrorFile := "The runner failed without writing its error file"
	for _, tt := range []struct {
		name    string
		e       containerdriver.RunError
		action  string
		path    path.Path
		want    []string
		wantNot []string
	}{
		{
			name: "runner image missing", action: contract.ActionCreate,
			e:       containerdriver.RunError{Container: "runner", Reason: "ErrImageNeverPull", Message: "image not present"},
			path:    path.Root("job").AtName("image"),
			want:    []string{"The runner image (job.image) could not be pulled", "never started", "imagePullSecrets"},
			wantNot: []string{noErrorFile, "keep_job"},
		},
		{
			name: "sidecar image missing", action: contract.ActionCreate,
			e:       containerdriver.RunError{Container: "pre-checks", Reason: "ImagePullBackOff"},
			want:    []string{"sidecar_image", "CONTAINERDRIVER_SIDECAR_IMAGE", "never started"},
			wantNot: []string{noErrorFile, "keep_job"},
		},
		{
			name: "outputs not JSON after exit 0", action: contract.ActionCreate,
			e:       containerdriver.RunError{Container: "runner", Reason: "InvalidOutputs", ExitCode: &zero, Message: "OUTPUTS_FILE: not JSON"},
			want:    []string{"The runner ended, but its output files break the contract", "JSON object"},
			wantNot: []string{noErrorFile},
		},
		{
			name: "runner failed without an error file", action: contract.ActionCreate,
			e:    containerdriver.RunError{Container: "runner", Reason: "Error", ExitCode: &two},
			want: []string{noErrorFile},
		},
		{
			name: "runner failed with an error file", action: contract.ActionCreate,
			e:       containerdriver.RunError{Container: "runner", Reason: "Error", ExitCode: &two, ErrorFile: "bucket exists"},
			want:    []string{"bucket exists", "reported the error above in its error file"},
			wantNot: []string{noErrorFile},
		},
		{
			name: "runner out of memory", action: contract.ActionCreate,
			e:       containerdriver.RunError{Container: "runner", Reason: "OOMKilled", ExitCode: &oom},
			want:    []string{"resources.limits.memory", "job.pod_template"},
			wantNot: []string{noErrorFile},
		},
		{
			name: "job deadline", action: contract.ActionDestroy,
			e:    containerdriver.RunError{Reason: "DeadlineExceeded"},
			path: path.Root("timeouts").AtName("delete"),
			want: []string{`timeouts = { delete = "1h" }`, "stays in the state until a destroy run succeeds"},
		},
		{
			name: "unschedulable", action: contract.ActionCreate,
			e:       containerdriver.RunError{Reason: "Unschedulable", Message: "0/1 nodes are available"},
			want:    []string{"could not be scheduled", "job.pod_template"},
			wantNot: []string{noErrorFile},
		},
		{
			name: "permission pre-checks", action: contract.ActionCreate,
			e:    containerdriver.RunError{Container: "pre-checks", Reason: "Error", ExitCode: &two},
			want: []string{"skip_permission_checks = true"},
		},
		{
			name: "git checkout", action: contract.ActionCreate,
			e:    containerdriver.RunError{Container: "git-init", Reason: "Error", ExitCode: &two},
			want: []string{"source.url, source.ref"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var diags diag.Diagnostics
			addRunFailure(&diags, &tt.e, tt.action)
			if len(diags) != 1 || diags[0].Summary() != "Container Run Failed" || diags[0].Severity() != diag.SeverityError {
				t.Fatalf("want one error Container Run Failed, got %v", diags)
			}
			var got path.Path
			if wp, ok := diags[0].(diag.DiagnosticWithPath); ok {
				got = wp.Path()
			}
			if !got.Equal(tt.path) {
				t.Errorf("path %s, want %s", got, tt.path)
			}
			d := diags[0].Detail()
			for _, w := range tt.want {
				if !strings.Contains(d, w) {
					t.Errorf("detail lacks %q:\n%s", w, d)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(d, w) {
					t.Errorf("detail has %q:\n%s", w, d)
				}
			}
		})
	}
}

func TestForceDestroyDetail(t *testing.T) {
	spec := &containerdriver.RunSpec{RunID: "r-1", Job: containerdriver.JobSpec{Image: "reg.example/runner:1", Namespace: "ns1"}}
	got := forceDestroyDetail(spec)
	for _, want := range []string{"reg.example/runner:1 did not run with ACTION=destroy", "run r-1", "namespace ns1", "left as it is"} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q: %s", want, got)
		}
	}
	spec.Contract = containerdriver.ContractContainerDeployer
	if got := forceDestroyDetail(spec); !strings.Contains(got, "OPERATION=DELETE") {
		t.Errorf("a container deployer image runs OPERATION=DELETE: %s", got)
	}
}

// TestRunFailureHint_EachWhere: the hint of every place a run can stop that
// TestDiagnostics_RunFailures does not cover, and the sentence runFailureDetail adds for
// a destroy and for a runner that started.
func TestRunFailureHint_EachWhere(t *testing.T) {
	two := int32(2)
	for _, tt := range []struct {
		name   string
		e      containerdriver.RunError
		action string
		want   string // the start of the hint
		tail   string // what runFailureDetail adds after the hint; "" for nothing
	}{
		{name: "timeout", e: containerdriver.RunError{Reason: containerdriver.ReasonTimeout}, want: "The pod was given its termination grace period"},
		{name: "interrupted", e: containerdriver.RunError{Reason: containerdriver.ReasonInterrupted}, want: "The pod was given its termination grace period"},
		{name: "pod deleted", e: containerdriver.RunError{Reason: containerdriver.ReasonPodDeleted}, want: "Nothing in the run failed by itself"},
		{name: "invalid manifests", e: containerdriver.RunError{Container: "runner", Reason: containerdriver.ReasonInvalidManifests},
			want: "The runner ended, but the output named by manifests_output", tail: "The runner ran, so this run is recorded (tainted)"},
		{name: "outputs missing", e: containerdriver.RunError{Reason: containerdriver.ReasonOutputsMissing},
			want: "The runner ended, but the outputs-fetcher could not bring its outputs back"},
		{name: "state not saved", e: containerdriver.RunError{Reason: containerdriver.ReasonStateNotSaved},
			want: "The runner ended, but the state directory (state_path) could not be saved"},
		{name: "contract refused by a sidecar", e: containerdriver.RunError{Container: "pre-checks", Reason: containerdriver.ReasonContractMismatch, ExitCode: &two},
			want: "A sidecar of the run's sidecar image refused this provider's contract version"},
		{name: "contract of the outputs", e: containerdriver.RunError{Reason: containerdriver.ReasonContractMismatch},
			want: "Nothing was recorded from this run's outputs."},
		{name: "no native sidecars", e: containerdriver.RunError{Reason: containerdriver.ReasonNativeSidecarsUnsupported},
			want: "The cluster does not run native sidecars"},
		{name: "container not created", e: containerdriver.RunError{Container: "state-restore", Reason: containerdriver.ReasonCreateContainerConfigError},
			want: "The state-restore container could not be created"},
		{name: "nothing known", e: containerdriver.RunError{Reason: containerdriver.ReasonJobDeleted},
			want: "Set keep_job = true to keep the Job and its pod for inspection."},
		{name: "runner failed on destroy", e: containerdriver.RunError{Container: "runner", Reason: "Error", ExitCode: &two}, action: contract.ActionDestroy,
			want: "The runner failed without writing its error file", tail: "The resource stays in the state until a destroy run succeeds"},
		{name: "runner failed on create", e: containerdriver.RunError{Container: "runner", Reason: "Error", ExitCode: &two},
			want: "The runner failed without writing its error file", tail: "The runner ran, so this run is recorded (tainted)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			action := tt.action
			if action == "" {
				action = contract.ActionCreate
			}
			if got := runFailureHint(&tt.e, action); !strings.HasPrefix(got, tt.want) {
				t.Errorf("hint %q, want it to start with %q", got, tt.want)
			}
			d := runFailureDetail(&tt.e, action)
			wantStart := tt.e.Detail() + "\n" + runFailureHint(&tt.e, action)
			if !strings.HasPrefix(d, wantStart) {
				t.Fatalf("detail does not start with the error's detail and the hint:\n%s", d)
			}
			rest := strings.TrimPrefix(d, wantStart)
			if tt.tail == "" && rest != "" || tt.tail != "" && !strings.HasPrefix(rest, "\n"+tt.tail) {
				t.Errorf("after the hint %q, want %q", rest, tt.tail)
			}
		})
	}
}

func TestDurationCheck(t *testing.T) {
	for _, tt := range []struct {
		name  string
		value types.String
		bad   bool
	}{
		{"a duration", types.StringValue("1h30m"), false},
		{"seconds", types.StringValue("90s"), false},
		{"words", types.StringValue("5 minutes"), true},
		{"a number without a unit", types.StringValue("30"), true},
		{"null", types.StringNull(), false},
		{"unknown", types.StringUnknown(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := path.Root("timeouts").AtName("update")
			var resp validator.StringResponse
			durationCheck{name: "update"}.ValidateString(context.Background(), validator.StringRequest{Path: p, ConfigValue: tt.value}, &resp)
			if got := resp.Diagnostics.HasError(); got != tt.bad {
				t.Fatalf("error %v, want %v: %v", got, tt.bad, resp.Diagnostics)
			}
			if !tt.bad {
				return
			}
			d := resp.Diagnostics[0]
			if wp, ok := d.(diag.DiagnosticWithPath); !ok || !wp.Path().Equal(p) {
				t.Errorf("diagnostic not on %s: %v", p, d)
			}
			want := fmt.Sprintf("timeouts.update: %q is not a duration", tt.value.ValueString())
			if d.Summary() != "Invalid Timeout" || !strings.Contains(d.Detail(), want) || !strings.Contains(d.Detail(), `timeouts = { update = "30m" }`) {
				t.Errorf("got %q: %q, want it to hold %q and the example", d.Summary(), d.Detail(), want)
			}
		})
	}
}

func TestWithTimeoutChecks(t *testing.T) {
	in := rschema.SingleNestedAttribute{Optional: true, Attributes: map[string]rschema.Attribute{
		"create": rschema.StringAttribute{Optional: true, Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
		"delete": rschema.StringAttribute{Optional: true},
		"other":  rschema.BoolAttribute{Optional: true},
	}}
	out, ok := withTimeoutChecks(in).(rschema.SingleNestedAttribute)
	if !ok {
		t.Fatalf("withTimeoutChecks gave %T", withTimeoutChecks(in))
	}
	for _, name := range []string{"create", "delete"} {
		s, ok := out.Attributes[name].(rschema.StringAttribute)
		if !ok || len(s.Validators) != 1 || s.Validators[0] != (durationCheck{name: name}) {
			t.Errorf("%s: validators %#v, want only durationCheck{%q}", name, s.Validators, name)
		}
	}
	if _, ok := out.Attributes["other"].(rschema.BoolAttribute); !ok {
		t.Errorf("a non-string attribute changed: %T", out.Attributes["other"])
	}
	if s := in.Attributes["create"].(rschema.StringAttribute); len(s.Validators) != 1 || s.Validators[0] == (validator.String)(durationCheck{name: "create"}) {
		t.Error("the attribute given was changed in place")
	}
	str := rschema.StringAttribute{Optional: true}
	if got := withTimeoutChecks(str); got.(rschema.StringAttribute).Validators != nil {
		t.Errorf("a non-object attribute was changed: %#v", got)
	}
}

func TestPodTemplateHint(t *testing.T) {
	p := path.Root("runner").AtName("pod_template")
	if got := podTemplateHint(p, fmt.Errorf("line 2: %w", containerdriver.ErrInvalidPodTemplate)); !strings.HasPrefix(got, "Give runner.pod_template a PodTemplateSpec in YAML") {
		t.Errorf("an unparsable template: %q", got)
	}
	if got := podTemplateHint(p, errors.New("spec.containers[runner].image cannot be overridden")); !strings.HasPrefix(got, "Remove these fields from runner.pod_template:") {
		t.Errorf("a template that sets driver fields: %q", got)
	}
	if got := attributeDetail(p, "bad"); got != "runner.pod_template: bad" {
		t.Errorf("attributeDetail = %q", got)
	}
}
