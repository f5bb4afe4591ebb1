package provider

import (
	"fmt"
	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"sigs.k8s.io/yaml"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

// containerdriver_run's attributes beyond the Container Driver contract: the state
// directory, the container deployer contract (docs/guides/contract.md), force_destroy,
// runner_status and unschedulable_grace, kept apart so the two contracts read separately.

type targetModel struct {
	Manifest  types.String `tfsdk:"manifest"`
	Content   types.String `tfsdk:"content"`
	ContentWO types.String `tfsdk:"content_wo"` // write-only (writeOnlyToSpec)
}

var runnerStatusAttrTypes = map[string]attr.Type{
	"state":        types.StringType,
	"reason":       types.StringType,
	"message":      types.StringType,
	"exit_code":    types.Int64Type,
	"image":        types.StringType,
	"image_id":     types.StringType,
	"error_digest": types.StringType,
}

func deployerAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"contract": schema.StringAttribute{
			MarkdownDescription: "The environment the runner sees. `container-driver` (the default): `ACTION`, `SCRIPTS_DIRECTORY`, " +
				"`RESOURCE_INPUTS_FILE`, `OUTPUTS_FILE`, `SECRET_OUTPUTS_FILE`, `ERROR_FILE`. `container-deployer`: the container deployer's " +
				"`OPERATION` (`RECONCILE` on create and update, `DELETE` on destroy), `IMPORTS_PATH` (the `inputs`), `EXPORTS_PATH` (JSON or YAML, " +
				"read back as `outputs`), `TARGET_PATH`, `STATE_PATH`, `COMPONENT_DESCRIPTOR_PATH`, `CONTENT_PATH`, `POD_NAME` and `POD_NAMESPACE`, " +
				"with the runner as user 1000, group 3000 and fsGroup 2000, so that an image written for that system runs unchanged.",
			Optional: true,
			Computed: true,
			Default:  stringdefault.StaticString(string(containerdriver.ContractContainerDriver)),
			Validators: []validator.String{stringvalidator.OneOf(
				string(containerdriver.ContractContainerDriver), string(containerdriver.ContractContainerDeployer))},
		},
		"state_path": schema.StringAttribute{
			MarkdownDescription: "Gives the runner a state directory at this path (`STATE_PATH`), kept between the runs of this resource: " +
				"before the runner starts, what the previous run left there is restored; when it ends, the directory is saved again, " +
				"even when the runner failed. It is stored in the run's namespace as a compressed archive split across Secrets " +
				"(labelled `containerdriver.io/state-of`), replaced atomically, and deleted after a successful destroy. " +
				"Symlinks and special files are an error naming the path. The service account then also needs `get`, `list`, " +
				"`update` and `delete` on `secrets` (a `containerdriver_runner` grants them with `allow_state_path = true`); `pre-checks` verifies it.",
			Optional:   true,
			Validators: []validator.String{validSharedDirectory()},
		},
		"target": schema.SingleNestedAttribute{
			MarkdownDescription: "The container deployer's target (`contract = \"container-deployer\"`): `TARGET_PATH` names a JSON file " +
				"`{\"target\": <manifest>, \"content\": <content>}`, mounted from a Secret.",
			Optional: true,
			Attributes: map[string]schema.Attribute{
				// YAML or JSON, so not jsontypes.Normalized (which refuses YAML).
				"manifest": schema.StringAttribute{
					MarkdownDescription: "The target object, as YAML or JSON (for example a `Target` with `spec.secretRef` or `spec.config`).",
					Required:            true,
				},
				"content": schema.StringAttribute{
					MarkdownDescription: "The target's content: its `spec.config`, or the content of the Secret its `spec.secretRef` names.",
					Optional:            true,
					Sensitive:           true,
					Validators:          []validator.String{stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("content_wo"))},
				},
				"content_wo": schema.StringAttribute{
					MarkdownDescription: "Like `content`, but write-only: never stored in the plan or the state, kept for destroy as " +
						"`secret_variables_wo` is. Requires `secrets_wo_version`.",
					Optional:   true,
					Sensitive:  true,
					WriteOnly:  true,
					Validators: []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("secrets_wo_version"))},
				},
			},
		},
		"component_descriptor": schema.StringAttribute{
			MarkdownDescription: "A resolved component descriptor list (JSON) for `COMPONENT_DESCRIPTOR_PATH` (`contract = \"container-deployer\"`).",
			Optional:            true,
			// The same descriptor reformatted (whitespace, key order) plans no change.
			CustomType: jsontypes.NormalizedType{},
		},
		"content": schema.MapAttribute{
			MarkdownDescription: "The content blob (relative path to file content) under `CONTENT_PATH` (`contract = \"container-deployer\"`).",
			Optional:            true,
			ElementType:         types.StringType,
		},
		"force_destroy": schema.BoolAttribute{
			MarkdownDescription: "Skips the destroy container: destroying the resource only removes what the run keeps in the cluster " +
				"(its Jobs, objects and saved state), as the container deployer's force-cleanup does. For a runner that can no longer succeed; " +
				"whatever it created elsewhere stays. Changing it runs nothing. Such a destroy ends with a warning naming the image that did not run, " +
				"the run id and what was removed. It takes effect once recorded in the state, so it cannot reach a run destroyed with its prior " +
				"state only (a failed create being replaced, a resource removed from the configuration): name such a run's id in the " +
				"`CONTAINERDRIVER_FORCE_DESTROY_RUNS` environment variable for one command instead (see the [failure modes](../guides/failure-modes.md) guide).",
			Optional: true,
		},
		"unschedulable_grace": schema.StringAttribute{
			MarkdownDescription: "How long the run's pod may stay unschedulable before the run fails with the scheduler's message, " +
				"as a Go duration (`90s`, `10m`). The default, `5m`, gives a cluster autoscaler, Karpenter or preemption time to make " +
				"room. Changing it runs nothing. See the [failure modes](../guides/failure-modes.md) guide.",
			Optional: true,
			// A Go duration ("300s" is "5m": no change). The type accepts zero and negative
			// durations; deployerToSpec refuses them at plan time, naming the attribute.
			CustomType: timetypes.GoDurationType{},
		},
		"state_size": schema.Int64Attribute{
			MarkdownDescription: "The size in bytes of the compressed state saved by the last run, when `state_path` is set.",
			Computed:            true,
		},
		"runner_status": schema.SingleNestedAttribute{
			MarkdownDescription: "The runner container's status at the end of the last run, as the container deployer's provider status reports it.",
			Computed:            true,
			Attributes: map[string]schema.Attribute{
				"state":     schema.StringAttribute{MarkdownDescription: "`terminated`, `running` or `waiting`.", Computed: true},
				"reason":    schema.StringAttribute{MarkdownDescription: "A brief CamelCase reason, e.g. `Completed` or `OOMKilled`.", Computed: true},
				"message":   schema.StringAttribute{MarkdownDescription: "A human readable message about the state.", Computed: true},
				"exit_code": schema.Int64Attribute{MarkdownDescription: "The exit code of the runner.", Computed: true},
				"image":     schema.StringAttribute{MarkdownDescription: "The image the runner ran.", Computed: true},
				"image_id":  schema.StringAttribute{MarkdownDescription: "The image ID (digest) of the runner's image.", Computed: true},
				"error_digest": schema.StringAttribute{
					MarkdownDescription: "For a failed create: the SHA-256 of where it failed (container, reason, exit code) and of the runner's error file, " +
						"empty otherwise. A destroy that fails with the same digest is recognised as the same failure " +
						"(see the [failure modes](../guides/failure-modes.md) guide).",
					Computed: true,
				},
			},
		},
	}
}

// deployerToSpec adds the state directory and the deployer contract's inputs to spec.
func (m *runResourceModel) deployerToSpec(b *specBuilder, spec *containerdriver.RunSpec) {
	spec.Contract = containerdriver.Contract(b.str(root("contract"), m.Contract))
	if p := b.str(root("state_path"), m.StatePath); p != "" {
		spec.State = &containerdriver.StateSpec{Path: p}
	}
	var t targetModel
	if b.object(root("target"), m.Target, &t) {
		manifest := b.str(root("target").Attr("manifest"), t.Manifest)
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(manifest), &obj); err != nil {
			b.diags.AddAttributeError(path.Root("target").AtName("manifest"), "Invalid Target",
				fmt.Sprintf("target.manifest must be a YAML or JSON object: %v", err))
		}
		spec.Target = &containerdriver.TargetSpec{Target: obj, Content: b.str(root("target").Attr("content"), t.Content)}
	}
	spec.ComponentDescriptor = b.str(root("component_descriptor"), m.ComponentDescriptor.StringValue)
	spec.Content = b.strMap(root("content"), m.Content)
	if g := b.str(root("unschedulable_grace"), m.UnschedulableGrace.StringValue); g != "" {
		// The type refused what is not a duration; a run needs a positive one.
		d, diags := m.UnschedulableGrace.ValueGoDuration()
		if diags.HasError() || d <= 0 {
			b.diags.AddAttributeError(path.Root("unschedulable_grace"), "Invalid Unschedulable Grace",
				fmt.Sprintf("unschedulable_grace must be a positive duration such as \"90s\" or \"10m\", not %q.", g))
		}
		spec.UnschedulableGrace = d
	}
}

func (m *runResourceModel) setDeployerResult(res *containerdriver.Result) diag.Diagnostics {
	m.StateSize = types.Int64Value(res.StateBytes)
	st := res.Runner
	v, diags := types.ObjectValue(runnerStatusAttrTypes, map[string]attr.Value{
		"state":        types.StringValue(st.State),
		"reason":       types.StringValue(st.Reason),
		"message":      types.StringValue(st.Message),
		"exit_code":    types.Int64Value(int64(st.ExitCode)),
		"image":        types.StringValue(st.Image),
		"image_id":     types.StringValue(st.ImageID),
		"error_digest": types.StringValue(st.ErrorDigest),
	})
	m.RunnerStatus = v
	return diags
}

func (m *runResourceModel) setDeployerEmpty() {
	m.StateSize = types.Int64Null()
	m.RunnerStatus = types.ObjectNull(runnerStatusAttrTypes)
}
