package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseRunArgs(t *testing.T) {
	o, err := parseRunArgs([]string{
		"--image", "containerdriver.local/shell-runner:dev", "--action", "destroy", "--inputs", "in.json",
		"--secret-variables", "secrets.env", "--variable", "TF_WORKING_DIR=infra/app", "--variable", "A=b=c",
		"--files", "module", "--source", "https://example.com/org/repo.git", "--ref", "refs/tags/v1", "--source-path", "app",
		"--namespace", "ns1", "--service-account", "sa1", "--setup",
		"--rule", "secrets=get,list", "--rule", "leases.coordination.k8s.io,deployments.apps/scale=get,update",
		"--keep", "--show-secrets", "--timeout", "3m", "--run-id", "my-run",
	}, env(map[string]string{envSidecarImage: "containerdriver.local/sidecars:dev"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := &runOptions{
		commonOptions: commonOptions{
			image: "containerdriver.local/shell-runner:dev", inputsFile: "in.json", secretVarsFile: "secrets.env",
			variables: map[string]string{"TF_WORKING_DIR": "infra/app", "A": "b=c"},
			filesDir:  "module", sharedDirectory: "/workspace",
			sourceURL: "https://example.com/org/repo.git", sourceRef: "refs/tags/v1", sourcePath: "app",
			namespace: "ns1", serviceAccount: "sa1", setup: true,
			rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}},
				{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "update"}},
				{APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"}, Verbs: []string{"get", "update"}},
			},
			sidecarImage: "containerdriver.local/sidecars:dev", timeout: 3 * time.Minute, runID: "my-run",
		},
		action: "destroy", keep: true, showSecrets: true,
	}
	if diff := cmp.Diff(want, o, cmp.AllowUnexported(runOptions{}, commonOptions{})); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
}

func TestParseRunArgs_Defaults(t *testing.T) {
	o, err := parseRunArgs([]string{"--image", "example.com/r:1"}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.action != "create" || o.sharedDirectory != "/workspace" || o.timeout != 15*time.Minute || o.setup || o.sidecarImage != "" {
		t.Errorf("defaults: action %q, shared directory %q, timeout %v, setup %v, sidecar %q", o.action, o.sharedDirectory, o.timeout, o.setup, o.sidecarImage)
	}
	if got := sidecarImage(o.sidecarImage); got != containerdriver.DefaultSidecarImageRepository+":latest" {
		t.Errorf("the sidecar image of a development build = %q, want the latest release", got)
	}
}

func TestParseArgs_Errors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check bool
		args  []string
		want  string
	}{
		{"no image", false, []string{"--action", "create"}, "--image is required"},
		{"bad image", false, []string{"--image", "Not An Image"}, "--image:"},
		{"bad action", false, []string{"--image", "a.b/c:1", "--action", "apply"}, `--action "apply" is none of create, destroy and plan`},
		{"plan-destroy without plan", false, []string{"--image", "a.b/c:1", "--plan-destroy"}, `--plan-destroy goes with --action plan`},
		{"ref without source", false, []string{"--image", "a.b/c:1", "--ref", "main"}, "need --source"},
		{"rule without setup", false, []string{"--image", "a.b/c:1", "--rule", "secrets=get"}, "--rule needs --setup"},
		{"bad rule", false, []string{"--image", "a.b/c:1", "--setup", "--rule", "secrets"}, "is not RESOURCE[.GROUP]=VERB"},
		{"bad variable", false, []string{"--image", "a.b/c:1", "--variable", "NOEQUALS"}, `"NOEQUALS" is not KEY=VALUE`},
		{"positional", false, []string{"--image", "a.b/c:1", "extra"}, `unexpected argument "extra"`},
		{"unknown flag", true, []string{"--image", "a.b/c:1", "--nope"}, "flag provided but not defined: -nope"},
		{"bad state label", true, []string{"--image", "a.b/c:1", "--state-secret-label", "not a key!"}, "--state-secret-label"},
		{"zero timeout", true, []string{"--image", "a.b/c:1", "--timeout", "0s"}, "--timeout must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.check {
				_, err = parseCheckArgs(tc.args, env(nil), &bytes.Buffer{})
			} else {
				_, err = parseRunArgs(tc.args, env(nil), &bytes.Buffer{})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseCheckArgs(t *testing.T) {
	o, err := parseCheckArgs([]string{"--image", "a.b/c:1", "--update-inputs", "u.json", "--invalid-inputs", "i.json",
		"--state-secret-label", "tfstateSecretSuffix", "--junit", "out.xml", "--rule", "secrets=delete"}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !o.setup {
		t.Error("check without --namespace must set up a namespace of its own")
	}
	if o.updateInputsFile != "u.json" || o.invalidInputsFile != "i.json" || o.stateSecretLabel != "tfstateSecretSuffix" || o.junitFile != "out.xml" {
		t.Errorf("options = %+v", o)
	}
	o, err = parseCheckArgs([]string{"--image", "a.b/c:1", "--namespace", "mine"}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.setup {
		t.Error("check with --namespace and without --setup must use the namespace as it is")
	}
}

func TestCLI_UsageAndVersion(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		out, err string
	}{
		{nil, exitUsage, "", "Usage:"},
		{[]string{"version"}, exitOK, "containerdriver dev", ""},
		{[]string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{[]string{"run"}, exitUsage, "", "containerdriver run: --image is required"},
		{[]string{"check", "-h"}, exitOK, "", "--invalid-inputs"},
	} {
		var stdout, stderr bytes.Buffer
		code := cli(context.Background(), tc.args, streams{stdout: &stdout, stderr: &stderr, getenv: env(nil)})
		if code != tc.code || !strings.Contains(stdout.String(), tc.out) || !strings.Contains(stderr.String(), tc.err) {
			t.Errorf("cli(%q) = %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, code, stdout.String(), stderr.String(), tc.code, tc.out, tc.err)
		}
	}
}
