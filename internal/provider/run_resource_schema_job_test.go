package provider

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestJobBlock_Flags(t *testing.T) {
	b := jobBlock()
	if !b.IsRequired() {
		t.Error("job is not required")
	}
	checkFlags(t, "job", b.Attributes, map[string]flags{
		"image":                       {set: "required", validators: 1},
		"command":                     {set: "optional"},
		"shared_directory":            {set: "optional computed", validators: 1},
		"service_account":             {set: "optional", validators: len(serviceAccountValidators())},
		"namespace":                   {set: "optional", validators: len(namespaceValidators())},
		"pod_template":                {set: "optional", validators: 1},
		"variables":                   {set: "optional"},
		"secret_variables":            {set: "optional", sensitive: true},
		"mount_service_account_token": {set: "optional"},
	})
	if !strings.Contains(b.Attributes["pod_template"].GetMarkdownDescription(), podTemplateRules) {
		t.Error("job.pod_template's description lacks the pod template rules")
	}
}

// TestRunnerBlock_Flags: the run's runner attribute has the attributes, types and
// descriptions of a containerdriver_runner's config.
func TestRunnerBlock_Flags(t *testing.T) {
	b := runnerBlock()
	checkFlags(t, "runner", b.Attributes, map[string]flags{
		"namespace":                   {set: "optional", validators: len(namespaceValidators())},
		"service_account":             {set: "optional", validators: len(serviceAccountValidators())},
		"pod_template":                {set: "optional", validators: 1},
		"skip_permission_checks":      {set: "optional"},
		"sidecar_image":               {set: "optional", validators: 1},
		"mount_service_account_token": {set: "optional"},
	})
	if got, want := slices.Sorted(maps.Keys(b.Attributes)), slices.Sorted(maps.Keys(runnerConfigAttrTypes)); !slices.Equal(got, want) {
		t.Errorf("runner attributes %v, runner config %v", got, want)
	}
	for name, a := range b.Attributes {
		if !a.GetType().Equal(runnerConfigAttrTypes[name]) {
			t.Errorf("runner.%s is %s, the runner config's %s", name, a.GetType(), runnerConfigAttrTypes[name])
		}
		if a.GetMarkdownDescription() != runnerConfigDescriptions[name] || a.GetMarkdownDescription() == "" {
			t.Errorf("runner.%s: description %q", name, a.GetMarkdownDescription())
		}
	}
}

// TestJobBlock_Validators: each validator of job and runner refuses, at plan time, what it
// is for, on its attribute; a plain job passes.
func TestJobBlock_Validators(t *testing.T) {
	with := func(k string, v any) map[string]any {
		m := maps.Clone(testJob)
		m[k] = v
		return m
	}
	for _, tt := range []struct {
		name   string
		config map[string]any
		path   string
		words  []string
	}{
		{name: "no image", config: map[string]any{"job": map[string]any{"service_account": "runner"}}, path: "job.image"},
		{name: "an image reference", config: map[string]any{"job": with("image", "Bad Image")}, path: "job.image", words: []string{"job.image"}},
		{name: "a relative shared directory", config: map[string]any{"job": with("shared_directory", "work")}, path: "job.shared_directory"},
		{name: "a service account name", config: map[string]any{"job": with("service_account", "Runner_1")}, path: "job.service_account"},
		{name: "a namespace name", config: map[string]any{"job": with("namespace", "ns.with.dots")}, path: "job.namespace"},
		{name: "a pod template", config: map[string]any{"job": with("pod_template", "spec: [")}, path: "job.pod_template", words: []string{"not a valid pod template"}},
		{name: "the runner's namespace", config: map[string]any{"job": testJob, "runner": map[string]any{"namespace": "Upper"}}, path: "runner.namespace"},
		{name: "the runner's service account", config: map[string]any{"job": testJob, "runner": map[string]any{"service_account": "a b"}}, path: "runner.service_account"},
		{name: "the runner's pod template", config: map[string]any{"job": testJob, "runner": map[string]any{"pod_template": "spec: ["}}, path: "runner.pod_template"},
		{name: "the runner's sidecar image", config: map[string]any{"job": testJob, "runner": map[string]any{"sidecar_image": "Bad Image"}}, path: "runner.sidecar_image"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errs := planErrors(t, tt.config)
			if !hasError(errs, tt.path, tt.words...) {
				t.Errorf("no error on %s naming %q; got:\n%s", tt.path, tt.words, strings.Join(errs, "\n"))
			}
		})
	}
	if errs := planErrors(t, map[string]any{"job": with("namespace", "team-a")}); len(errs) != 0 {
		t.Errorf("a plain job: %q", errs)
	}
}
