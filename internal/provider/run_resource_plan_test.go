package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

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
		// The same for every other input that travels in one object (issue 20).
		{validRunPrefix + `  }
  inputs = { big = format("%01200000d", 0) }
}`, `inputs: holds \d+ bytes, more than the 1032192`},
		{validRunPrefix + `  }
  secret_files = { "big.bin" = format("%01200000d", 0) }
}`, `secret_files: holds 1200007 bytes, more than the 1032192`},
		{validRunPrefix + `    secret_variables = { BIG = format("%01200000d", 0) }
  }
}`, `secret_variables: holds 1200003 bytes, more than the 1032192`},
		{validRunPrefix + `    variables = { BIG = format("%01200000d", 0) }
  }
}`, `variables: holds 1200003 bytes, more than the 1032192`},
		{validRunPrefix + `  }
  contract = "container-deployer"
  target   = { manifest = "kind: Target", content = format("%01200000d", 0) }
}`, `content: holds 1200000 bytes, more than the 1032192`},
		{validRunPrefix + `  }
  unschedulable_grace = "5 minutes"
}`, `(?s)Invalid Time Duration String Value.*unschedulable_grace = "5 minutes".*"300ms", "-1.5h" or "2h45m"`},
		// jsontypes.Normalized's message, at validation (the domain's "is not valid JSON"
		// before): the attribute is underlined.
		{validRunPrefix + `  }
  contract             = "container-deployer"
  component_descriptor = "{\"components\": [}"
}`, `(?s)Invalid JSON String Value.*component_descriptor = "\{\\"components\\": \[\}".*not valid JSON string format`},
		// timetypes.GoDuration accepts these; the run does not.
		{validRunPrefix + `  }
  unschedulable_grace = "0s"
}`, `unschedulable_grace must be a positive duration such as "90s" or "10m",\s+not\s+"0s"`},
		{validRunPrefix + `  }
  unschedulable_grace = "-5m"
}`, `unschedulable_grace must be a positive duration such as "90s" or "10m",\s+not\s+"-5m"`},
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
}`, `"Not_A_Namespace" is not a valid namespace name`},
		// apimachinery's check, as the API server's: the old regular expression took "a..b".
		{`resource "containerdriver_runner" "test" {
  service_account = "a..b"
}`, `"a..b" is not a valid service account name`},
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
		// With a plan block, the runner writes its plan there: a file would be mounted
		// read-only in its place.
		{validRunPrefix + `  }
  plan  = { preview = true }
  files = { "plan.txt" = "x" }
}`, `files\["plan.txt"\]:\s+/workspace/plan.txt\s+is\s+where\s+a\s+runner\s+with\s+plan\s+support\s+writes\s+its\s+plan\s+\(PLAN_FILE\);\s+this\s+run\s+has\s+a\s+plan\s+block,\s+so\s+name\s+the\s+file\s+differently`},
		{validRunPrefix + `  }
  plan         = { detect_drift = true }
  secret_files = { ".containerdriver-plan/tfplan" = "long-enough" }
}`, `(?s)secret_files\[".containerdriver-plan/tfplan"\].*leaves\s+its\s+plan\s+artifact`},
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
