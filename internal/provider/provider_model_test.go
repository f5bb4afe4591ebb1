package provider

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The settings and restConfig paths are tested in provider_test.go; here the helpers
// they rest on.

func TestStringList(t *testing.T) {
	ctx := context.Background()
	list := func(vs ...attr.Value) types.List { return types.ListValueMust(types.StringType, vs) }
	for _, tc := range []struct {
		name   string
		l      types.List
		want   []string
		known  bool
		errors int
	}{
		{name: "null", l: types.ListNull(types.StringType), known: true},
		{name: "unknown", l: types.ListUnknown(types.StringType), known: false},
		{name: "values", l: list(types.StringValue("a"), types.StringValue("b")), want: []string{"a", "b"}, known: true},
		{name: "empty", l: list(), want: []string{}, known: true},
		{name: "an unknown element", l: list(types.StringValue("a"), types.StringUnknown()), known: false},
		{name: "a null element", l: list(types.StringNull(), types.StringValue("b")), want: []string{"b"}, known: true, errors: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var diags diag.Diagnostics
			got, known := stringList(ctx, tc.l, path.Root("args"), &diags)
			if !reflect.DeepEqual(got, tc.want) || known != tc.known {
				t.Errorf("got %#v known %v, want %#v known %v", got, known, tc.want, tc.known)
			}
			if diags.ErrorsCount() != tc.errors {
				t.Errorf("diagnostics %v, want %d errors", diags, tc.errors)
			}
			for _, d := range diags.Errors() {
				if wp, ok := d.(diag.DiagnosticWithPath); !ok || !wp.Path().Equal(path.Root("args")) {
					t.Errorf("error not on args: %v", d)
				}
			}
		})
	}
}

func TestStringMap(t *testing.T) {
	ctx := context.Background()
	m := func(vs map[string]attr.Value) types.Map { return types.MapValueMust(types.StringType, vs) }
	for _, tc := range []struct {
		name    string
		m       types.Map
		want    map[string]string
		known   bool
		errorOn string
	}{
		{name: "null", m: types.MapNull(types.StringType), known: true},
		{name: "unknown", m: types.MapUnknown(types.StringType), known: false},
		{name: "values", m: m(map[string]attr.Value{"A": types.StringValue("1")}), want: map[string]string{"A": "1"}, known: true},
		{name: "an unknown value", m: m(map[string]attr.Value{"A": types.StringValue("1"), "B": types.StringUnknown()}), want: map[string]string{"A": "1"}, known: false},
		{name: "a null value", m: m(map[string]attr.Value{"A": types.StringNull()}), want: map[string]string{}, known: true, errorOn: "A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var diags diag.Diagnostics
			got, known := stringMap(ctx, tc.m, path.Root("env"), &diags)
			if !reflect.DeepEqual(got, tc.want) || known != tc.known {
				t.Errorf("got %#v known %v, want %#v known %v", got, known, tc.want, tc.known)
			}
			if tc.errorOn == "" {
				if diags.HasError() {
					t.Errorf("diagnostics %v", diags)
				}
				return
			}
			errs := diags.Errors()
			if len(errs) != 1 {
				t.Fatalf("diagnostics %v, want one error", diags)
			}
			if wp, ok := errs[0].(diag.DiagnosticWithPath); !ok || !wp.Path().Equal(path.Root("env").AtMapKey(tc.errorOn)) {
				t.Errorf("error %v not on env[%q]", errs[0], tc.errorOn)
			}
		})
	}
}

func TestExpandHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, tc := range []struct{ in, want string }{
		{"~", home},
		{"~/.kube/config", filepath.Join(home, ".kube/config")},
		{"/etc/kubeconfig", "/etc/kubeconfig"},
		{"relative/kubeconfig", "relative/kubeconfig"},
		{"~user/config", "~user/config"}, // another user's home is not expanded
	} {
		got, err := expandHome(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("expandHome(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	t.Setenv("HOME", "")
	if _, err := expandHome("~/x"); err == nil || !strings.Contains(err.Error(), `expand "~/x"`) {
		t.Errorf("no home directory: %v, want an error naming the path", err)
	}
}

func TestConnectionSet_AnySettingCounts(t *testing.T) {
	if (kubeSettings{}).connectionSet() {
		t.Error("empty settings count as a connection")
	}
	if (kubeSettings{QPS: 5, Burst: 10}).connectionSet() {
		t.Error("request rates alone count as a connection")
	}
	for name, s := range map[string]kubeSettings{
		"config_paths": {ConfigPaths: []string{"k"}}, "host": {Host: "h"}, "context": {Context: "c"},
		"auth info": {AuthInfo: "a"}, "cluster": {Cluster: "c"}, "token": {Token: "t"}, "ca": {CACert: "c"},
		"client cert": {ClientCert: "c"}, "client key": {ClientKey: "k"}, "tls server name": {TLSServerName: "n"},
		"proxy": {ProxyURL: "p"}, "insecure": {Insecure: true}, "exec": {Exec: &clientcmdapi.ExecConfig{}},
	} {
		if !s.connectionSet() {
			t.Errorf("%s alone does not count as a connection", name)
		}
	}
}
