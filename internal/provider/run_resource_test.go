package provider

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// A domain path becomes the framework's attribute path step by step, in the schema's names.
func TestFieldPath_AttrPath(t *testing.T) {
	for _, c := range []struct {
		got  containerdriver.Path
		want path.Path
	}{
		{root("job").Attr("image"), path.Root("job").AtName("image")},
		{root("files").Key("/etc/x.conf"), path.Root("files").AtMapKey("/etc/x.conf")},
		{root("job").Attr("secret_variables").Key("TOKEN"), path.Root("job").AtName("secret_variables").AtMapKey("TOKEN")},
		{root("credentials_config").Attr("script_variables").Attr("variables").Key("a.b"),
			path.Root("credentials_config").AtName("script_variables").AtName("variables").AtMapKey("a.b")},
	} {
		if p := attrPath(c.got); !p.Equal(c.want) {
			t.Errorf("attrPath(%s) = %s, want %s", c.got, p, c.want)
		}
	}
}

// Every domain validation error reaches Terraform on the attribute it names.
func TestFieldPath_SpecErrorsOnTheirAttribute(t *testing.T) {
	spec := &containerdriver.RunSpec{RunID: "r", Job: containerdriver.JobSpec{
		Image: "busybox", SharedDirectory: "/shared", ServiceAccount: "sa",
		Variables:       map[string]string{"ACTION": "x"},
		SecretVariables: map[string]string{"OK_NAME": "ab"},
	}, Files: map[string]string{"../x": ""}}
	var diags diag.Diagnostics
	if !addSpecErrors(&diags, spec.Validate(), nil) {
		t.Fatal("the validation errors were not recognised")
	}
	want := map[string]bool{}
	for _, p := range []path.Path{
		path.Root("job").AtName("variables").AtMapKey("ACTION"),
		path.Root("job").AtName("secret_variables").AtMapKey("OK_NAME"),
		path.Root("files").AtMapKey("../x"),
	} {
		want[p.String()] = false
	}
	for _, d := range diags {
		wp, ok := d.(diag.DiagnosticWithPath)
		if !ok {
			t.Errorf("diagnostic without a path: %s: %s", d.Summary(), d.Detail())
			continue
		}
		if _, ok := want[wp.Path().String()]; !ok {
			t.Errorf("unexpected diagnostic on %s: %s", wp.Path(), d.Detail())
		}
		want[wp.Path().String()] = true
	}
	for p, seen := range want {
		if !seen {
			t.Errorf("no diagnostic on %s in %v", p, diags)
		}
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
		// Too large for the one ConfigMap that carries the files (issue 9, defect 9).
		{validRunPrefix + `  }
  files = { "big.bin" = format("%01200000d", 0) }
}`, `files: holds 1200007 bytes, more than the 1032192`},
		{validRunPrefix + `  }
  unschedulable_grace = "5 minutes"
}`, `unschedulable_grace must be a positive duration`},
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
		{validRunPrefix + `  }
  target = { manifest = "kind: Target" }
}`, `only given to runners of the "container-deployer" contract`},
		{validRunPrefix + `  }
  contract = "landscaper"
}`, `value must be one of`},
		{validRunPrefix + `  }
  state_path = "/workspace/state"
}`, `must not overlap job.shared_directory`},
		{validRunPrefix + `  }
  contract = "container-deployer"
  target   = { manifest = "[not: an object" }
}`, `target.manifest must be a YAML or JSON object`},
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
						"namespace":                   knownvalue.StringExact("runners"),
						"service_account":             knownvalue.StringExact("runner"),
						"pod_template":                knownvalue.StringExact("spec:\n  nodeSelector:\n    kubernetes.io/os: linux\n"),
						"skip_permission_checks":      knownvalue.Bool(false),
						"sidecar_image":               knownvalue.Null(),
						"mount_service_account_token": knownvalue.Null(),
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
				// A runner attribute unknown at plan time leaves the others known: the run's
				// namespace, which decides a replacement, does not depend on it.
				Config: `
provider "containerdriver" {}
resource "terraform_data" "template" {
  input = "spec:\n  priorityClassName: low\n"
}
resource "containerdriver_runner" "other" {
  namespace    = "others"
  pod_template = terraform_data.template.output
}
resource "containerdriver_run" "test" {
  runner = containerdriver_runner.other.config
  job    = { image = "runner:1" }
}`,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPreRefresh: []plancheck.PlanCheck{
						plancheck.ExpectKnownValue("containerdriver_run.test", tfjsonpath.New("namespace"), knownvalue.StringExact("others")),
						plancheck.ExpectUnknownValue("containerdriver_run.test", tfjsonpath.New("runner").AtMapKey("pod_template")),
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

// TestAccRun_lifecycle creates a run, checks its outputs, secret outputs, files and
// variables, plans again (nothing to do), updates its inputs in place (same id,
// ACTION=create again), changes only keep_job (nothing runs), and destroys it
// (ACTION=destroy observed on the kept Job).
func TestAccRun_lifecycle(t *testing.T) {
	e := newAccEnv(t)
	config := func(bucket string, keep bool) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  files = { "conf/app.json" = "{\"debug\": true}" }
  secret_files = { "/etc/runner/token" = "file-secret" }
  inputs = {
    outputs        = { bucket = %q, nested = { count = 2, tags = ["a", "b"] } }
    secret_outputs = { password = "s3cret-%s" }
    echo_env       = ["GREETING", "TOKEN", "CONTAINERDRIVER_RUN_ID"]
    echo_files     = ["conf/app.json"]
    print          = ["hello from the runner"]
  }
  keep_job = %v
}
`, e.jobBlock(`variables = { GREETING = "hi" }
    secret_variables = { TOKEN = "var-secret" }`), bucket, bucket, keep)
	}
	res := "containerdriver_run.test"
	sameID := statecheck.CompareValue(compare.ValuesSame())
	sameJob := statecheck.CompareValue(compare.ValuesSame())
	sameUpdatedJob := statecheck.CompareValue(compare.ValuesSame())
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			jobs := e.jobs(t, "destroy")
			if len(jobs) != 1 {
				return fmt.Errorf("want 1 kept destroy Job in %s, found %d", e.ns, len(jobs))
			}
			if ok, err := e.jobSucceeded(jobs[0]); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("the pod of destroy Job %s did not succeed", jobs[0].Name)
			}
			log, err := e.runnerLog(jobs[0])
			if err != nil {
				return err
			}
			if !strings.Contains(log, "ACTION=destroy") {
				return fmt.Errorf("the destroy Job's runner did not run with ACTION=destroy:\n%s", log)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: config("b1", false),
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(res, tfjsonpath.New("id")),
					sameJob.AddStateValue(res, tfjsonpath.New("job_name")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("bucket"), knownvalue.StringExact("b1")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("action"), knownvalue.StringExact("create")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("nested").AtMapKey("count"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("nested").AtMapKey("tags"),
						knownvalue.TupleExact([]knownvalue.Check{knownvalue.StringExact("a"), knownvalue.StringExact("b")})),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("env_GREETING"), knownvalue.StringExact("hi")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("env_TOKEN"), knownvalue.StringExact("var-secret")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("file_/workspace/conf/app.json"), knownvalue.StringExact(`{"debug": true}`)),
					statecheck.CompareValuePairs(res, tfjsonpath.New("id"), res, tfjsonpath.New("outputs").AtMapKey("env_CONTAINERDRIVER_RUN_ID"), compare.ValuesSame()),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("secret_outputs").AtMapKey("password"), knownvalue.StringExact("s3cret-b1")),
					statecheck.ExpectSensitiveValue(res, tfjsonpath.New("secret_outputs")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("namespace"), knownvalue.StringExact(e.ns)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("job_name"), knownvalue.StringRegexp(regexp.MustCompile(`^cd-.*-create-`))),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("image_digest"), knownvalue.StringRegexp(regexp.MustCompile(`sha256:[0-9a-f]{64}`))),
				},
			},
			{
				// Nothing changed: nothing to do, and refresh did not run the container.
				Config: config("b1", false),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{sameJob.AddStateValue(res, tfjsonpath.New("job_name"))},
			},
			{
				// A changed input runs ACTION=create again, in place, with the same id.
				Config: config("b2", false),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(res, tfjsonpath.New("outputs")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(res, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("bucket"), knownvalue.StringExact("b2")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("action"), knownvalue.StringExact("create")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("secret_outputs").AtMapKey("password"), knownvalue.StringExact("s3cret-b2")),
					sameUpdatedJob.AddStateValue(res, tfjsonpath.New("job_name")),
				},
			},
			{
				// Only keep_job changes: the outputs stay known and nothing runs.
				Config: config("b2", true),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("bucket"), knownvalue.StringExact("b2")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(res, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("keep_job"), knownvalue.Bool(true)),
					sameUpdatedJob.AddStateValue(res, tfjsonpath.New("job_name")),
				},
				Check: func(*terraform.State) error {
					if n := len(e.jobs(t, "create")); n != 0 {
						return fmt.Errorf("changing keep_job ran the container: %d create Jobs kept", n)
					}
					return nil
				},
			},
			{
				// Another namespace is another runner environment: the run is replaced.
				Config:             strings.Replace(config("b2", true), fmt.Sprintf("%q", e.ns), `"elsewhere"`, 1),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPreRefresh: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(res, plancheck.ResourceActionDestroyBeforeCreate),
					},
				},
			},
		},
	})
}

// TestAccRun_failure runs a runner that fails: the error names the runner's error file
// text and exit code, and, the runner having started, the resource is kept tainted so the
// next apply destroys it (with the same id) before creating it again.
func TestAccRun_failure(t *testing.T) {
	e := newAccEnv(t)
	config := func(fail string) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  inputs = {
    fail    = %q
    fail_on = "create"
    print   = ["about to fail"]
  }
}
`, e.jobBlock(""), fail)
	}
	res := "containerdriver_run.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config:      config("bucket quota exceeded"),
				ExpectError: regexp.MustCompile(`(?s)Container Run Failed.*exit code 3.*bucket quota exceeded.*about to fail`),
			},
			{
				// The tainted resource is replaced: destroyed, then created again.
				Config: config(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("action"), knownvalue.StringExact("create")),
				},
			},
			{
				// A failed update keeps the state of the last successful run...
				Config:      config("disk full"),
				ExpectError: regexp.MustCompile(`(?s)Container Run Failed.*disk full`),
			},
			{
				// ...so the change is still pending.
				Config:             config("disk full"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

// TestAccRun_gitSource checks a repository out with git-init, records the commit, keeps
// the state when the branch moves, and destroys with the recorded commit.
func TestAccRun_gitSource(t *testing.T) {
	e := newAccEnv(t)
	root := t.TempDir()
	commit := gitRepo(t, root, "infra")
	first := commit(map[string]string{"stack/main.tf": "# first\n", "README.md": "outside the path\n"})
	base := gitServer(t, root)
	config := e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  source = {
    url  = "%s/infra.git"
    ref  = "refs/heads/main"
    path = "stack"
  }
  inputs = { echo_files = ["main.tf"] }
  keep_job = true
}
`, e.jobBlock(""), base)
	res := "containerdriver_run.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			jobs := e.jobs(t, "destroy")
			if len(jobs) != 1 {
				return fmt.Errorf("want 1 kept destroy Job, found %d", len(jobs))
			}
			for _, c := range jobs[0].Spec.Template.Spec.InitContainers {
				if c.Name != contract.ContainerGitInit {
					continue
				}
				for _, env := range c.Env {
					if env.Name == contract.EnvGitRef && env.Value != first {
						return fmt.Errorf("destroy checked out %q, want the commit create used, %s", env.Value, first)
					}
				}
				return nil
			}
			return fmt.Errorf("the destroy Job has no git-init container")
		},
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("git_commit"), knownvalue.StringExact(first)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("file_/workspace/main.tf"), knownvalue.StringExact("# first\n")),
				},
			},
			{
				// The branch moves; the configuration does not: nothing to do.
				PreConfig: func() { commit(map[string]string{"stack/main.tf": "# second\n"}) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("git_commit"), knownvalue.StringExact(first)),
				},
			},
		},
	})
}

// TestAccRun_credentials hands credentials to the runner as environment variables, the
// whole credentials file and a script variables file, given as an object and then as a
// JSON string.
func TestAccRun_credentials(t *testing.T) {
	e := newAccEnv(t)
	config := func(creds string) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  credentials = %s
  credentials_config = {
    environment = {
      AWS_ACCESS_KEY_ID = "aws.accessKeyId"
      ALL_CREDENTIALS   = "*"
      CREDENTIALS_PATH  = "creds.json"
    }
    file = "creds.json"
    script_variables = {
      file      = "vars.json"
      variables = { key = "aws.secretAccessKey", "obj.region" = "region" }
    }
  }
  inputs = {
    echo_env   = ["AWS_ACCESS_KEY_ID", "ALL_CREDENTIALS", "CREDENTIALS_PATH"]
    echo_files = ["creds.json", "vars.json"]
  }
}
`, e.jobBlock(""), creds)
	}
	const object = `{ aws = { accessKeyId = "AKIAEXAMPLE", secretAccessKey = "shh" }, region = "eu-north-1" }`
	const whole = `{"aws":{"accessKeyId":"AKIAEXAMPLE","secretAccessKey":"shh"},"region":"eu-north-1"}`
	res := "containerdriver_run.test"
	out := func(k string) tfjsonpath.Path { return tfjsonpath.New("outputs").AtMapKey(k) }
	checks := []statecheck.StateCheck{
		statecheck.ExpectKnownValue(res, out("env_AWS_ACCESS_KEY_ID"), knownvalue.StringExact("AKIAEXAMPLE")),
		statecheck.ExpectKnownValue(res, out("env_ALL_CREDENTIALS"), knownvalue.StringExact(whole)),
		statecheck.ExpectKnownValue(res, out("env_CREDENTIALS_PATH"), knownvalue.StringExact("/workspace/creds.json")),
		statecheck.ExpectKnownValue(res, out("file_/workspace/creds.json"), knownvalue.StringExact(whole)),
		statecheck.ExpectKnownValue(res, out("file_/workspace/vars.json"), knownvalue.StringExact(`{"key":"shh","obj":{"region":"eu-north-1"}}`)),
		statecheck.ExpectSensitiveValue(res, tfjsonpath.New("credentials")),
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{Config: config(object), ConfigStateChecks: checks},
			{Config: config("jsonencode(" + object + ")"), ConfigStateChecks: checks},
		},
	})
}

// TestAccRun_failureBeforeRunner runs with a service account that may not store outputs:
// pre-checks stop the run before the runner starts, the error says what to grant, and
// nothing is saved in the state (the next plan creates the resource again).
func TestAccRun_failureBeforeRunner(t *testing.T) {
	e := newAccEnv(t)
	config := e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  job = {
    image           = %q
    command         = ["/testrunner"]
    namespace       = %q
    service_account = "default"
  }
}
`, e.runner, e.ns)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config:      config,
				ExpectError: regexp.MustCompile(`(?s)Container Run Failed.*pre-checks.*skip_permission_checks`),
			},
			{
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPreRefresh: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("containerdriver_run.test", plancheck.ResourceActionCreate),
					},
				},
			},
		},
	})
}
