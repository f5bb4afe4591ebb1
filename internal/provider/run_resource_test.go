package provider

import (
	"encoding/json"
	"math/big"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

func TestFieldPath(t *testing.T) {
	for field, want := range map[string]path.Path{
		"job.image":                           path.Root("job").AtName("image"),
		`files["/etc/x.conf"]`:                path.Root("files").AtMapKey("/etc/x.conf"),
		`secret_files["a/b.json"]`:            path.Root("secret_files").AtMapKey("a/b.json"),
		`job.variables["ACTION"]`:             path.Root("job").AtName("variables").AtMapKey("ACTION"),
		`secret_job_variables["TOKEN"]`:       path.Root("job").AtName("secret_variables").AtMapKey("TOKEN"),
		"credentials_config.file":             path.Root("credentials_config").AtName("file"),
		`credentials_config.environment["K"]`: path.Root("credentials_config").AtName("environment").AtMapKey("K"),
		`credentials_config.script_variables.variables["a.b"]`: path.Root("credentials_config").AtName("script_variables").
			AtName("variables").AtMapKey("a.b"),
		"source.url": path.Root("source").AtName("url"),
	} {
		got, ok := fieldPath(field)
		if !ok || !got.Equal(want) {
			t.Errorf("fieldPath(%q) = %s, %v; want %s", field, got, ok, want)
		}
	}
	if _, ok := fieldPath(`[broken`); ok {
		t.Error("a malformed field maps to no attribute")
	}
}

func TestValues_JSONRoundTrip(t *testing.T) {
	const doc = `{"bucket":"b","count":3,"ratio":0.25,"big":12345678901234567890,"on":true,"none":null,
		"tags":["a",1,{"k":"v"}],"nested":{"empty":{},"list":[]}}`
	var g any
	if err := decodeJSON([]byte(doc), &g); err != nil {
		t.Fatal(err)
	}
	d, err := goToDynamic(g)
	if err != nil {
		t.Fatal(err)
	}
	back, known, err := dynamicToGo(d)
	if err != nil || !known {
		t.Fatalf("dynamicToGo: %v, known %v", err, known)
	}
	b1, _ := json.Marshal(g)
	b2, _ := json.Marshal(back)
	if string(b1) != string(b2) {
		t.Errorf("round trip changed the value:\n%s\n%s", b1, b2)
	}
	obj, ok := d.UnderlyingValue().(types.Object)
	if !ok {
		t.Fatalf("a JSON object becomes an object, got %T", d.UnderlyingValue())
	}
	if n, ok := obj.Attributes()["big"].(types.Number); !ok || n.ValueBigFloat().Cmp(mustBig("12345678901234567890")) != 0 {
		t.Errorf("big number lost precision: %v", obj.Attributes()["big"])
	}
	if _, ok := obj.Attributes()["tags"].(types.Tuple); !ok {
		t.Errorf("a JSON array becomes a tuple, got %T", obj.Attributes()["tags"])
	}
}

func mustBig(s string) *big.Float {
	f, _, err := big.ParseFloat(s, 10, 512, big.ToNearestEven)
	if err != nil {
		panic(err)
	}
	return f
}

func TestCredentialsValue(t *testing.T) {
	obj := types.DynamicValue(types.ObjectValueMust(map[string]attr.Type{"aws": types.ObjectType{AttrTypes: map[string]attr.Type{"key": types.StringType}}},
		map[string]attr.Value{"aws": types.ObjectValueMust(map[string]attr.Type{"key": types.StringType}, map[string]attr.Value{"key": types.StringValue("k")})}))
	str := types.DynamicValue(types.StringValue(`{"aws":{"key":"k"}}`))
	want := map[string]any{"aws": map[string]any{"key": "k"}}
	for name, v := range map[string]types.Dynamic{"object": obj, "json string": str} {
		got, known, err := credentialsValue(v)
		if err != nil || !known {
			t.Fatalf("%s: %v %v", name, err, known)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
	if _, _, err := credentialsValue(types.DynamicValue(types.StringValue("not json"))); err == nil {
		t.Error("a string that is not a JSON object is an error")
	}
	if _, known, _ := credentialsValue(types.DynamicUnknown()); known {
		t.Error("unknown credentials are not known")
	}
}

func TestRunnerStarted(t *testing.T) {
	exit := int32(3)
	for _, tt := range []struct {
		e    containerdriver.RunError
		want bool
	}{
		{containerdriver.RunError{Container: "runner", Reason: "Error", ExitCode: &exit}, true},
		{containerdriver.RunError{Container: "runner", Reason: "InvalidOutputs"}, true},
		{containerdriver.RunError{Container: "runner", Reason: "ErrImagePull"}, false},
		{containerdriver.RunError{Container: "pre-checks", Reason: "Error", ExitCode: &exit}, false},
		{containerdriver.RunError{Container: "git-init", Reason: "Error", ExitCode: &exit}, false},
		{containerdriver.RunError{Reason: "Unschedulable"}, false},
		{containerdriver.RunError{Reason: "Timeout", Logs: map[string]string{"runner": "applying...\n"}}, true},
	} {
		if got := runnerStarted(&tt.e); got != tt.want {
			t.Errorf("runnerStarted(%s) = %v, want %v", tt.e.Error(), got, tt.want)
		}
	}
}

// validRun is a run that passes every plan-time check; the cases below break one thing.
const validRunPrefix = `
resource "containerdriver_run" "test" {
  job = {
    image           = "registry.example/runner:1.0"
    service_account = "runner"
`

// TestRunResource_PlanValidation runs `terraform plan` on invalid configurations. The
// provider block has no cluster at all: everything here is caught without one, and so
// nothing can be left in a cluster.
func TestRunResource_PlanValidation(t *testing.T) {
	needTerraform(t)
	steps := []struct {
		config string
		want   string
	}{
		{`resource "containerdriver_run" "test" {
  job = { image = "Registry.Example/UPPER:tag", service_account = "r" }
}`, `Invalid Image Reference`},
		{`resource "containerdriver_run" "test" {
  job = { image = "runner:1", service_account = "r", shared_directory = "workspace" }
}`, `must be an absolute path`},
		{validRunPrefix + `  }
  files = { "../escape.txt" = "x" }
}`, `must not contain '\.\.'`},
		{validRunPrefix + `  }
  files        = { "conf/a.json" = "{}" }
  secret_files = { "/workspace/conf/a.json" = "{}" }
}`, `resolves to /workspace/conf/a.json`},
		{validRunPrefix + `    pod_template = <<-EOT
      spec:
        containers:
          - name: runner
            image: other:1
    EOT
  }
}`, `image cannot be overridden`},
		{validRunPrefix + `    pod_template = "spec:\n  notAField: 1\n"
  }
}`, `not a valid pod template`},
		{validRunPrefix + `  }
  source = { url = "not a url" }
}`, `Invalid Git URL`},
		{validRunPrefix + `  }
  source = { url = "git@example.com:org/repo.git", password = "pw" }
}`, `a password needs an HTTPS URL`},
		{validRunPrefix + `    variables = { "1BAD" = "x" }
  }
}`, `not a valid environment variable name`},
		{validRunPrefix + `    variables = { ACTION = "x" }
  }
}`, `is set by the driver and cannot be overridden`},
		{validRunPrefix + `    variables = { AWS_REGION = "x" }
  }
  credentials        = { aws = { region = "eu" } }
  credentials_config = { environment = { AWS_REGION = "aws.region" } }
}`, `is also set in job.variables`},
		{validRunPrefix + `  }
  credentials_config = { file = "creds.json" }
}`, `credentials`},
		{validRunPrefix + `  }
  credentials        = "not json"
  credentials_config = { file = "creds.json" }
}`, `must hold a JSON object`},
		{validRunPrefix + `  }
  credentials        = { a = 1 }
  credentials_config = { file = "/abs/creds.json" }
}`, `must be a clean relative path`},
		{`resource "containerdriver_run" "test" {
  job = { image = "runner:1" }
}`, `Missing Service Account`},
		{`resource "containerdriver_run" "test" {
  runner = { namespace = "a", service_account = "r" }
  job    = { image = "runner:1", namespace = "b" }
}`, `Conflicting Namespace`},
		{`resource "containerdriver_runner" "test" {
  extra_rules = [{ api_groups = [""], resources = ["secrets"], verbs = ["get"] }]
}`, `create_service_account`},
		{`resource "containerdriver_runner" "test" {
  namespace = "Not_A_Namespace"
}`, `must be a valid namespace name`},
		{`resource "containerdriver_runner" "test" {
  pod_template = "metadata:\n  namespace: elsewhere\n"
}`, `metadata.namespace cannot be overridden`},
	}
	var ts []resource.TestStep
	for _, s := range steps {
		ts = append(ts, resource.TestStep{
			Config:      `provider "containerdriver" {}` + "\n" + s.config,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(s.want),
		})
	}
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: ts})
}

// TestRunnerResource_ConfigKnownAtPlan applies a runner that manages nothing (so no
// cluster is needed) and plans a run that uses it: the run's settings are known at plan
// time, and a second plan is empty.
func TestRunnerResource_ConfigKnownAtPlan(t *testing.T) {
	needTerraform(t)
	runner := `
provider "containerdriver" {}
resource "containerdriver_runner" "main" {
  namespace       = "runners"
  service_account = "runner"
  pod_template    = "spec:\n  nodeSelector:\n    kubernetes.io/os: linux\n"
}
`
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: runner,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("containerdriver_runner.main", tfjsonpath.New("config"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"namespace":              knownvalue.StringExact("runners"),
						"service_account":        knownvalue.StringExact("runner"),
						"pod_template":           knownvalue.StringExact("spec:\n  nodeSelector:\n    kubernetes.io/os: linux\n"),
						"skip_permission_checks": knownvalue.Bool(false),
						"sidecar_image":          knownvalue.Null(),
					})),
					statecheck.ExpectKnownValue("containerdriver_runner.main", tfjsonpath.New("id"), knownvalue.StringExact("runners/runner")),
				},
			},
			{
				Config: runner + `
resource "containerdriver_run" "test" {
  runner = containerdriver_runner.main.config
  job    = { image = "runner:1" }
}`,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPreRefresh: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("containerdriver_run.test", plancheck.ResourceActionCreate),
						plancheck.ExpectKnownValue("containerdriver_run.test", tfjsonpath.New("namespace"), knownvalue.StringExact("runners")),
						plancheck.ExpectUnknownValue("containerdriver_run.test", tfjsonpath.New("outputs")),
					},
				},
			},
			{
				// Changing the runner's pod template updates it in place; its config stays known.
				Config: `
provider "containerdriver" {}
resource "containerdriver_runner" "main" {
  namespace       = "runners"
  service_account = "runner"
}
`,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("containerdriver_runner.main", plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue("containerdriver_runner.main", tfjsonpath.New("config").AtMapKey("pod_template"), knownvalue.Null()),
					},
				},
			},
		},
	})
}
