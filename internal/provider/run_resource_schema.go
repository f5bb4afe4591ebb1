package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

// defaultSharedDirectory is job.shared_directory when not set. The contract gives no
// default; /workspace is short, absent from common base images, and writable by any UID
// because it is an emptyDir.
const defaultSharedDirectory = "/workspace"

// runSchema is containerdriver_run's schema, assembled from one function per block of it.
func runSchema(ctx context.Context) schema.Schema {
	attrs := map[string]schema.Attribute{
		"id": schema.StringAttribute{
			MarkdownDescription: "The run's identity, made at create and kept across updates. The runner receives it as `CONTAINERDRIVER_RUN_ID`.",
			Computed:            true,
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"runner":             runnerBlock(),
		"job":                jobBlock(),
		"source":             sourceBlock(),
		"credentials_config": credentialsConfigBlock(),
		"timeouts":           timeoutsAttribute(ctx, "How long a run may take. When it is over, the pod is stopped gracefully (the runner gets SIGTERM and the pod's termination grace period; the state directory is saved after it) and the error says the run timed out. Each defaults to `20m`. See the [failure modes](../guides/failure-modes.md) guide."),
	}
	for _, block := range []map[string]schema.Attribute{
		fileAttributes(),
		credentialsAttributes(),
		writeOnlySecretAttributes(),
		runOptionAttributes(),
		resultAttributes(),
		deployerAttributes(),          // run_resource_extensions.go
		secretOutputsJSONAttributes(), // secret_outputs_json.go
		planAttributes(),              // run_resource_preview.go
	} {
		addAttributes(attrs, block)
	}
	return schema.Schema{
		MarkdownDescription: "Runs a container image as a Kubernetes Job following the Container Driver contract, " +
			"and brings its outputs back.\n\n" +
			"* **Create** runs the image with `ACTION=create`.\n" +
			"* **A change of any input** runs it again with `ACTION=create`, in place: runners are expected to be idempotent " +
			"(an IaC tool converges to the new inputs). Only a change of the namespace the run uses replaces the resource, " +
			"because a runner's state lives there. Changing only `keep_job` or `timeouts`, or only the formatting of the JSON in " +
			"`credentials_json` or `component_descriptor` (whitespace, key order), runs nothing.\n" +
			"* **Destroy** runs it with `ACTION=destroy` and the inputs of the last successful run, with `source.ref` replaced by the " +
			"commit that run checked out and the image pinned to the digest that run used, when the image has a repository digest.\n" +
			"* **Refresh** does not run anything: the state keeps the outputs of the last run.\n\n" +
			"The runner also receives `CONTAINERDRIVER_RUN_ID`, the resource's `id`, stable across updates, to key any state it keeps.\n\n" +
			"When a create fails after the runner itself started (the runner container or the outputs it left are at fault), " +
			"the resource is saved in the state without outputs, so Terraform marks it tainted: the next apply runs " +
			"`ACTION=destroy` with the same id before creating it again, and a runner that created part of its resources can clean them up. " +
			"When it fails before the runner started (a pre-check, the git checkout, an image that cannot be pulled, a pod that cannot be scheduled), " +
			"nothing is saved.\n\n" +
			"Progress (the Job, the pod's phases, every line the containers log) is logged with `tflog`: run with `TF_LOG=INFO` to see it.",
		Attributes: attrs,
	}
}

// addAttributes adds block's attributes to attrs; an attribute defined twice is a
// programming error that would silently drop one of the two.
func addAttributes(attrs, block map[string]schema.Attribute) {
	for name, a := range block {
		if _, dup := attrs[name]; dup {
			panic("schema: attribute " + name + " defined twice")
		}
		attrs[name] = a
	}
}

// fileAttributes are the files the run mounts, plain and sensitive.
func fileAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"files": schema.MapAttribute{
			MarkdownDescription: "Files to create, path to content. A relative path lands in `job.shared_directory` (where the runner works); " +
				"an absolute path is mounted at that path.",
			Optional:    true,
			ElementType: types.StringType,
		},
		"secret_files": schema.MapAttribute{
			MarkdownDescription: "Like `files`, for sensitive content. They reach the pod through a Secret. " +
				"Each content must be empty or at least 4 characters long, so that it can be masked in logs.",
			Optional:    true,
			Sensitive:   true,
			ElementType: types.StringType,
		},
	}
}

// writeOnlySecretAttributes are the write-only secrets beside job.secret_variables and
// secret_files, and the version that says when the write-only values change.
func writeOnlySecretAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"secret_variables_wo": schema.MapAttribute{
			MarkdownDescription: "Like `job.secret_variables`, but write-only: never stored in the plan or the state " +
				"(Terraform 1.11 or OpenTofu 1.11 and later). Destroy still needs them, so the provider keeps them in the Secret " +
				"`cd-<hash of id>-write-only-secrets` of the run's namespace (labelled `containerdriver.io/role=write-only-secrets` and " +
				"`containerdriver.io/run-id`), as readable as the run's other Secrets, and deletes it after a successful destroy " +
				"(or `force_destroy`). Terraform cannot tell when they change: change `secrets_wo_version` to run again with new values. " +
				"A name may not also be in `job.secret_variables`.",
			Optional:    true,
			Sensitive:   true,
			WriteOnly:   true,
			ElementType: types.StringType,
			Validators:  []validator.Map{mapvalidator.AlsoRequires(path.MatchRoot("secrets_wo_version"))},
		},
		"secret_files_wo": schema.MapAttribute{
			MarkdownDescription: "Like `secret_files`, but write-only, kept for destroy as `secret_variables_wo` is.",
			Optional:            true,
			Sensitive:           true,
			WriteOnly:           true,
			ElementType:         types.StringType,
			Validators:          []validator.Map{mapvalidator.AlsoRequires(path.MatchRoot("secrets_wo_version"))},
		},
		"secrets_wo_version": schema.StringAttribute{
			MarkdownDescription: "Any value that you change whenever a write-only attribute changes (`secret_variables_wo`, `secret_files_wo`, " +
				"`source.password_wo`, `source.ssh_key_wo`, `credentials_json_wo`, `target.content_wo`): a change runs " +
				"the container again (`ACTION=create`) with the new values, which then replace the kept ones. Required with them.",
			Optional: true,
		},
	}
}

// runOptionAttributes are the run's other inputs: what to check, what to return, what to
// keep.
func runOptionAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"skip_permission_checks": schema.BoolAttribute{
			MarkdownDescription: "Skip the permission checks: that the service account may create the ConfigMaps and Secrets the outputs " +
				"are returned through, checked by the provider (`LocalSubjectAccessReview`s, when its credentials may create them) or else by " +
				"the `pre-checks` init container. The provider's \"all allowed\" is shared by the runs of the same service account for 30 seconds, " +
				"and dropped by any of them that fails (see the requirements guide). Taken from `runner` when not set, else `false`.",
			Optional: true,
		},
		"manifests_output": schema.StringAttribute{
			MarkdownDescription: "The name of a property of the outputs (and of the secret outputs) that holds a list of manifest locations; " +
				"the lists are concatenated into `manifests`.",
			Optional: true,
		},
		"inputs": schema.DynamicAttribute{
			MarkdownDescription: "Any value (usually an object), written as JSON to the file named by `RESOURCE_INPUTS_FILE`. " +
				"The file reaches the pod through a Secret, but the value is not sensitive in the plan: put secrets in `secret_files`, " +
				"`job.secret_variables` or `credentials`.",
			Optional: true,
		},
		"keep_job": schema.BoolAttribute{
			MarkdownDescription: "Keep the Job, its pod and the objects it used after each run, for debugging (`kubectl logs job/<job_name> -c runner`). " +
				"By default they are deleted once the outputs are read. " +
				"With `keep_job = true` every run leaves its own Job, pod, Secrets and ConfigMaps in the namespace: the create, each update " +
				"that runs the container, and the destroy. A later run deletes none of them (except a kept Job of the very same inputs, which it " +
				"replaces), and neither does destroy (only a destroy with " +
				"`force_destroy` removes every Job of the run). Delete one run's objects with " +
				"`kubectl -n <namespace> delete jobs,secrets,configmaps -l containerdriver.io/job=<job name>`. " +
				"`terraform plan` warns while it is set (*Jobs And Secrets Stay Behind*): the kept Secrets hold the run's secret inputs.",
			Optional:   true,
			Computed:   true,
			Default:    booldefault.StaticBool(false),
			Validators: []validator.Bool{keepJobWarning{}},
		},
	}
}

// resultAttributes are set from a run's result (runComputedAttributes lists them with the
// other blocks' computed attributes).
func resultAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"outputs": schema.DynamicAttribute{
			MarkdownDescription: "The object the runner wrote to `OUTPUTS_FILE`, e.g. `containerdriver_run.s3.outputs.bucket`. " +
				"Unknown in a plan only when the run will run again.",
			Computed: true,
		},
		"secret_outputs": schema.DynamicAttribute{
			MarkdownDescription: "The object the runner wrote to `SECRET_OUTPUTS_FILE`. Sensitive, but printed by Terraform and OpenTofu " +
				"themselves in `TF_LOG=debug` logs, as every dynamic value is: null with `secret_outputs_as_json = true`, which avoids that.",
			Computed:  true,
			Sensitive: true,
		},
		"manifests": schema.DynamicAttribute{
			MarkdownDescription: "The list of manifest locations found under `manifests_output` in the outputs, then in the secret outputs. " +
				"Always sensitive, because part of it may come from the secret outputs: an `output` of it needs `sensitive = true`, " +
				"and `nonsensitive(...)` shows it when you know it holds nothing secret.",
			Computed:  true,
			Sensitive: true,
		},
		"git_commit": schema.StringAttribute{
			MarkdownDescription: "The commit `source` was checked out at.",
			Computed:            true,
		},
		"image_digest": schema.StringAttribute{
			MarkdownDescription: "The image the runner container actually ran, as the kubelet reported it (`repo@sha256:...` or `sha256:...`).",
			Computed:            true,
		},
		"job_name": schema.StringAttribute{
			MarkdownDescription: "The name of the Job of the last run.",
			Computed:            true,
		},
		"namespace": schema.StringAttribute{
			MarkdownDescription: "The namespace the run uses: `job.namespace`, else `runner.namespace`, else `" + containerdriver.DefaultNamespace + "`.",
			Computed:            true,
		},
	}
}

// runInputAttributes are the attributes whose change runs the container again.
var runInputAttributes = []string{
	"runner", "job", "files", "secret_files", "source", "credentials_config", "credentials", "credentials_json", "credentials_json_wo", "secrets_wo_version",
	"skip_permission_checks", "manifests_output", "inputs",
	"contract", "state_path", "target", "component_descriptor", "content", "secret_outputs_as_json",
}

// runComputedAttributes are set from a run's result.
var runComputedAttributes = []string{"outputs", "secret_outputs", "secret_outputs_json", "manifests", "git_commit", "image_digest", "job_name", "state_size", "runner_status"}

// timeoutsAttribute is the timeouts attribute with a description of its defaults. Its
// durations stay the timeouts module's strings, not timetypes.GoDuration: timeouts.Value
// reads them with that object type, and durationCheck names the attribute and the syntax.
func timeoutsAttribute(ctx context.Context, desc string) schema.Attribute {
	a := withTimeoutChecks(timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}))
	if n, ok := a.(schema.SingleNestedAttribute); ok {
		n.MarkdownDescription = desc
		return n
	}
	return a
}
