package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// TestAccRun_Lifecycle creates a run, checks its outputs, secret outputs, files and
// variables, plans again (nothing to do), updates its inputs in place (same id,
// ACTION=create again), changes only keep_job (nothing runs), and destroys it
// (ACTION=destroy observed on the kept Job).
func TestAccRun_Lifecycle(t *testing.T) {
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

// TestAccRun_Failure runs a runner that fails: the error names the runner's error file
// text and exit code, and, the runner having started, the resource is kept tainted so the
// next apply destroys it (with the same id) before creating it again.
func TestAccRun_Failure(t *testing.T) {
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

// TestAccRun_GitSource checks a repository out with git-init, records the commit, keeps
// the state when the branch moves, and destroys with the recorded commit.
func TestAccRun_GitSource(t *testing.T) {
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

// TestAccRun_Credentials hands credentials to the runner as environment variables, the
// whole credentials file and a script variables file, given as an object and then as a
// JSON string.
func TestAccRun_Credentials(t *testing.T) {
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

// TestAccRun_FailureBeforeRunner runs with a service account that may not store outputs:
// pre-checks stop the run before the runner starts, the error says what to grant, and
// nothing is saved in the state (the next plan creates the resource again).
func TestAccRun_FailureBeforeRunner(t *testing.T) {
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
