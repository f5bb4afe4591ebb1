package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseArgs(t *testing.T) {
	base := map[string]string{
		"ACTION":              "create",
		"SCRIPTS_DIRECTORY":   "/work",
		"OUTPUTS_FILE":        "/work/outputs.json",
		"SECRET_OUTPUTS_FILE": "/work/secret-outputs.json",
		"ERROR_FILE":          "/work/error.txt",
	}
	with := func(kv ...string) func(string) string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	type want struct {
		workingDir, backend, stateNS, stateSuffix string
		backendConfig                             []string
		keepState, planDestroy, planApply         bool
	}
	for _, tc := range []struct {
		name    string
		args    []string
		env     func(string) string
		want    want
		wantErr string
	}{
		{name: "defaults", args: []string{"tofu"}, env: with()},
		{
			name: "environment",
			args: []string{"terraform"},
			env: with("TF_WORKING_DIR", "infra", "TF_BACKEND", "s3", "TF_BACKEND_CONFIG", "bucket=b\n\n key=k \n",
				"TF_STATE_NAMESPACE", "ns", "TF_STATE_SECRET_SUFFIX", "abc", "TF_KEEP_STATE", "true"),
			want: want{workingDir: "infra", backend: "s3", stateNS: "ns", stateSuffix: "abc", backendConfig: []string{"bucket=b", "key=k"}, keepState: true},
		},
		{
			name: "flags win over the environment",
			args: []string{"tofu", "-chdir", "b", "-backend=local", "-backend-config", "path=/x", "-keep-state=false"},
			env:  with("TF_WORKING_DIR", "a", "TF_BACKEND", "s3", "TF_BACKEND_CONFIG", "bucket=b", "TF_KEEP_STATE", "1"),
			want: want{workingDir: "b", backend: "local", backendConfig: []string{"path=/x"}},
		},
		{name: "auto is the default backend", args: []string{"tofu", "-backend=auto"}, env: with()},
		{name: "no tool", args: nil, env: with(), wantErr: "first argument must be tofu or terraform"},
		{name: "unknown tool", args: []string{"pulumi"}, env: with(), wantErr: "first argument must be tofu or terraform"},
		{name: "not in a job", args: []string{"tofu"}, env: func(string) string { return "" }, wantErr: "ACTION, SCRIPTS_DIRECTORY, OUTPUTS_FILE, SECRET_OUTPUTS_FILE not set"},
		{name: "bad action", args: []string{"tofu"}, env: with("ACTION", "update"), wantErr: `ACTION="update"`},
		{name: "plan", args: []string{"tofu"}, env: with("ACTION", "plan", "PLAN_FILE", "/work/plan.txt", "PLAN_SUMMARY_FILE", "/work/plan-summary.json", "PLAN_DESTROY", "true"), want: want{planDestroy: true}},
		{name: "apply a saved plan", args: []string{"tofu"}, env: with("PLAN_APPLY", "true"), want: want{planApply: true}},
		{name: "plan without its files", args: []string{"tofu"}, env: with("ACTION", "plan"), wantErr: "PLAN_FILE, PLAN_SUMMARY_FILE not set"},
		{name: "bad plan destroy", args: []string{"tofu"}, env: with("ACTION", "plan", "PLAN_DESTROY", "yes please"), wantErr: `PLAN_DESTROY="yes please" is not a boolean`},
		{name: "bad plan apply", args: []string{"tofu"}, env: with("PLAN_APPLY", "maybe"), wantErr: `PLAN_APPLY="maybe" is not a boolean`},
		{name: "escaping working dir", args: []string{"tofu", "-chdir", "../etc"}, env: with(), wantErr: "must stay inside SCRIPTS_DIRECTORY"},
		{name: "bad keep", args: []string{"tofu"}, env: with("TF_KEEP_STATE", "maybe"), wantErr: "is not a boolean"},
		{name: "bad backend", args: []string{"tofu", "-backend", "S3; rm"}, env: with(), wantErr: "not a backend type name"},
		{name: "stray argument", args: []string{"tofu", "apply"}, env: with(), wantErr: "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseArgs(tc.args, tc.env)
			if endsWithError(t, err, tc.wantErr) {
				return
			}
			got := want{cfg.workingDir, cfg.backend, cfg.stateNS, cfg.stateSuffix, cfg.backendConfig, cfg.keepState, cfg.planDestroy, cfg.planApply}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}
