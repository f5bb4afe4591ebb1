package provider

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/runnerenv"
)

func TestRunnerModel_IDValue(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ns, sa types.String
		want   types.String
	}{
		{"known", types.StringValue("ns"), types.StringValue("sa"), types.StringValue("ns/sa")},
		{"unknown namespace", types.StringUnknown(), types.StringValue("sa"), types.StringUnknown()},
		{"unknown service account", types.StringValue("ns"), types.StringUnknown(), types.StringUnknown()},
	} {
		m := &runnerResourceModel{Namespace: tc.ns, ServiceAccount: tc.sa}
		if got := m.idValue(); !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRunnerModel_ConfigValueKeepsUnknownsApart(t *testing.T) {
	m := &runnerResourceModel{
		Namespace: types.StringValue("ns"), ServiceAccount: types.StringValue("sa"), PodTemplate: types.StringUnknown(),
		SkipPermissionChecks: types.BoolValue(true), SidecarImage: types.StringNull(), MountServiceAccountToken: types.BoolNull(),
	}
	v, diags := m.configValue()
	if diags.HasError() {
		t.Fatal(diags)
	}
	if v.IsUnknown() || v.IsNull() {
		t.Fatalf("config %v: an unknown pod template must not make the whole config unknown", v)
	}
	want := map[string]attr.Value{
		"namespace": types.StringValue("ns"), "service_account": types.StringValue("sa"), "pod_template": types.StringUnknown(),
		"skip_permission_checks": types.BoolValue(true), "sidecar_image": types.StringNull(), "mount_service_account_token": types.BoolNull(),
	}
	if d := cmp.Diff(want, v.Attributes()); d != "" {
		t.Errorf("config (-want +got)\n%s", d)
	}
}

func ruleValue(t *testing.T, groups, resources, verbs, names types.List) attr.Value {
	t.Helper()
	l := types.ListType{ElemType: types.StringType}
	o, d := types.ObjectValue(map[string]attr.Type{"api_groups": l, "resources": l, "verbs": l, "resource_names": l},
		map[string]attr.Value{"api_groups": groups, "resources": resources, "verbs": verbs, "resource_names": names})
	if d.HasError() {
		t.Fatal(d)
	}
	return o
}

func TestRunnerModel_Env(t *testing.T) {
	ctx := context.Background()
	strs := func(vs ...string) types.List {
		var out []attr.Value
		for _, v := range vs {
			out = append(out, types.StringValue(v))
		}
		return types.ListValueMust(types.StringType, out)
	}
	nullList := types.ListNull(types.StringType)
	ruleType := types.ObjectType{AttrTypes: map[string]attr.Type{
		"api_groups": types.ListType{ElemType: types.StringType}, "resources": types.ListType{ElemType: types.StringType},
		"verbs": types.ListType{ElemType: types.StringType}, "resource_names": types.ListType{ElemType: types.StringType},
	}}
	base := runnerResourceModel{
		Namespace: types.StringValue("ns"), ServiceAccount: types.StringValue("sa"),
		CreateNamespace: types.BoolValue(true), CreateServiceAccount: types.BoolNull(), AllowStatePath: types.BoolValue(true),
	}
	for _, tc := range []struct {
		name   string
		rules  types.List
		want   []rbacv1.PolicyRule
		errors []path.Path
	}{
		{name: "no extra rules", rules: types.ListNull(ruleType)},
		{name: "unknown extra rules", rules: types.ListUnknown(ruleType)},
		{
			name: "two rules",
			rules: types.ListValueMust(ruleType, []attr.Value{
				ruleValue(t, strs(""), strs("configmaps"), strs("get", "list"), nullList),
				ruleValue(t, strs("apps"), strs("deployments"), strs("patch"), strs("web")),
			}),
			want: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}},
				{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"patch"}, ResourceNames: []string{"web"}},
			},
		},
		{
			name: "a null verb",
			rules: types.ListValueMust(ruleType, []attr.Value{
				ruleValue(t, strs(""), strs("secrets"), types.ListValueMust(types.StringType, []attr.Value{types.StringNull()}), nullList),
			}),
			want:   []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{}}},
			errors: []path.Path{path.Root("extra_rules").AtListIndex(0).AtName("verbs")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base
			m.ExtraRules = tc.rules
			env, diags := m.env(ctx)
			want := runnerenv.Env{Namespace: "ns", ServiceAccount: "sa", CreateNamespace: true, AllowStatePath: true, ExtraRules: tc.want}
			if d := cmp.Diff(want, env); d != "" {
				t.Errorf("env (-want +got)\n%s", d)
			}
			var got []path.Path
			for _, d := range diags.Errors() {
				if wp, ok := d.(diag.DiagnosticWithPath); ok {
					got = append(got, wp.Path())
				}
			}
			if len(got) != len(tc.errors) || (len(got) == 1 && !got[0].Equal(tc.errors[0])) {
				t.Errorf("errors on %v, want %v (%v)", got, tc.errors, diags)
			}
		})
	}
}

func TestManages(t *testing.T) {
	for _, tc := range []struct {
		env  runnerenv.Env
		want bool
	}{
		{runnerenv.Env{Namespace: "ns", AllowStatePath: true}, false},
		{runnerenv.Env{CreateNamespace: true}, true},
		{runnerenv.Env{CreateServiceAccount: true}, true},
	} {
		if got := manages(tc.env); got != tc.want {
			t.Errorf("manages(%+v) = %v, want %v", tc.env, got, tc.want)
		}
	}
}
