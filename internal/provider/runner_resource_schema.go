package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/runnerenv"
)

// runnerSchema is containerdriver_runner's schema, assembled from one function per group
// of attributes.
func runnerSchema(ctx context.Context) schema.Schema {
	attrs := map[string]schema.Attribute{
		"id": schema.StringAttribute{
			MarkdownDescription: "`<namespace>/<service_account>`.",
			Computed:            true,
		},
		"extra_rules": extraRulesAttribute(),
		"config":      runnerConfigAttribute(),
		"timeouts":    timeoutsAttribute(ctx, "How long creating, updating or deleting the managed objects may take; deleting a namespace waits until everything in it is gone. Each defaults to `5m`."),
	}
	for _, group := range []map[string]schema.Attribute{runnerSharedAttributes(), runnerClusterSetupAttributes()} {
		addAttributes(attrs, group)
	}
	return schema.Schema{
		MarkdownDescription: "A runner configuration (the Container Runner of the Container Driver's design): the namespace, service account, pod template " +
			"and sidecar image that many `containerdriver_run` resources share through `runner = containerdriver_runner.<name>.config`.\n\n" +
			"It can also set up the cluster side: `create_namespace` creates the namespace (labelled for the restricted Pod Security Standard), " +
			"`create_service_account` creates the service account with a Role holding exactly the permissions the features in use need " +
			"(below), and a RoleBinding. Destroy deletes what it created, and only that: " +
			"objects that already existed are an error at create rather than being taken over. Setting `create_namespace` or " +
			"`create_service_account` back to `false` releases the objects: they are kept and no longer deleted on destroy.\n\n" +
			"When neither is set, the resource only holds configuration and never contacts the cluster.\n\n" +
			"The Role that `create_service_account` creates holds these rules, per feature, and nothing else:\n\n" +
			"| Feature | Who needs it | Rules |\n" +
			"|---|---|---|\n" +
			"| every run: its outputs and secret outputs | `outputs-fetcher` stores them in ConfigMaps and Secrets | `create` on `configmaps` and `secrets` |\n" +
			"| `pre-checks` (unless `skip_permission_checks`) | asks the API server what the service account may do | none (every identity may create `selfsubjectaccessreviews`) |\n" +
			"| `state_path`, with `allow_state_path = true` | `state-restore` reads the saved state, `outputs-fetcher` saves it | `get`, `list`, `update` and `delete` on `secrets` |\n" +
			"| the runner's own calls, with `extra_rules` | the `runner` container, which gets the token only with `mount_service_account_token` | `extra_rules`, as written |\n\n" +
			"`git-init` and the runner without `mount_service_account_token` get no token and need no rule.",
		Attributes: attrs,
	}
}

// runnerSharedAttributes are what the runs share: the config they read
// (runnerConfigAttrTypes), each validated as a run's own attribute is.
func runnerSharedAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"namespace": schema.StringAttribute{
			MarkdownDescription: "The namespace the runs' Jobs are created in. Defaults to `" + containerdriver.DefaultNamespace + "`. " +
				"Changing it replaces the resource (and the runs using it: a runner's state lives in its namespace).",
			Optional:      true,
			Computed:      true,
			Default:       stringdefault.StaticString(containerdriver.DefaultNamespace),
			Validators:    namespaceValidators(),
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"service_account": schema.StringAttribute{
			MarkdownDescription: "The service account the runs' pods run as. Defaults to `" + runnerenv.DefaultServiceAccount + "`.",
			Optional:            true,
			Computed:            true,
			Default:             stringdefault.StaticString(runnerenv.DefaultServiceAccount),
			Validators:          serviceAccountValidators(),
		},
		"pod_template": schema.StringAttribute{
			MarkdownDescription: "A pod template (YAML `PodTemplateSpec`) merged into every run's default template before the run's own " +
				"`job.pod_template`: image pull secrets, node selectors, tolerations, resources. " + podTemplateRules,
			Optional:   true,
			Validators: []validator.String{validPodTemplate()},
		},
		"skip_permission_checks": schema.BoolAttribute{
			MarkdownDescription: "Runs skip the `pre-checks` init container unless they say otherwise. Defaults to `false`.",
			Optional:            true,
			Computed:            true,
			Default:             booldefault.StaticBool(false),
		},
		"sidecar_image": schema.StringAttribute{
			MarkdownDescription: "The sidecar image runs use instead of the provider's `sidecar_image`, e.g. a mirror in a private registry.",
			Optional:            true,
			Validators:          []validator.String{validImage()},
		},
		"mount_service_account_token": schema.BoolAttribute{
			MarkdownDescription: "Give the runs' `runner` containers the service account's token, as `job.mount_service_account_token` " +
				"does for one run (a run's own setting wins). Defaults to `false`: only the sidecars that talk to the API get it. " +
				"With it, a runner can do everything the service account may do in the namespace, including reading every run's Secrets there.",
			Optional: true,
		},
	}
}

// runnerClusterSetupAttributes say what the runner creates in the cluster.
func runnerClusterSetupAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"create_namespace": schema.BoolAttribute{
			MarkdownDescription: "Create the namespace, labelled `pod-security.kubernetes.io/enforce=restricted`, and delete it on destroy. " +
				"Defaults to `false`: the namespace must exist.",
			Optional: true,
			Computed: true,
			Default:  booldefault.StaticBool(false),
		},
		"create_service_account": schema.BoolAttribute{
			MarkdownDescription: "Create the service account, a Role named after it with the rules described above " +
				"(`create` on `configmaps` and `secrets`, plus those of `allow_state_path` and `extra_rules`), and a RoleBinding; " +
				"delete them on destroy. Defaults to `false`.",
			Optional: true,
			Computed: true,
			Default:  booldefault.StaticBool(false),
		},
		"allow_state_path": schema.BoolAttribute{
			MarkdownDescription: "Add to the Role what runs with `state_path` need: `get`, `list`, `update` and `delete` on `secrets` " +
				"(`state-restore` reads the saved state, `outputs-fetcher` saves the new one and deletes the chunks it replaced). " +
				"Defaults to `false`: runs with `state_path` then fail at `pre-checks`, naming the missing permissions. " +
				"Needs `create_service_account = true`.",
			Optional: true,
			Computed: true,
			Default:  booldefault.StaticBool(false),
		},
	}
}

// extraRulesAttribute is extra_rules: the Role's rules for the runner's own calls.
func extraRulesAttribute() schema.ListNestedAttribute {
	nonEmptyList := []validator.List{listvalidator.SizeAtLeast(1)}
	return schema.ListNestedAttribute{
		MarkdownDescription: "Rules appended to the Role, for what the runner itself does in its namespace, e.g. an OpenTofu runner keeping " +
			"its state in Secrets needs `get`, `list`, `create`, `update` and `delete` on `secrets`, and on `leases` in `coordination.k8s.io`. " +
			"The runner can only use them with the service account's token, which it gets with `mount_service_account_token = true` " +
			"(here or on the run); the sidecars need none of them. Needs `create_service_account = true`.",
		Optional: true,
		NestedObject: schema.NestedAttributeObject{
			Attributes: map[string]schema.Attribute{
				"api_groups": schema.ListAttribute{
					MarkdownDescription: "API groups; `\"\"` is the core group.",
					Required:            true,
					ElementType:         types.StringType,
					Validators:          nonEmptyList,
				},
				"resources": schema.ListAttribute{
					MarkdownDescription: "Resources, e.g. `secrets`.",
					Required:            true,
					ElementType:         types.StringType,
					Validators:          nonEmptyList,
				},
				"verbs": schema.ListAttribute{
					MarkdownDescription: "Verbs, e.g. `get`, `list`, `create`, `update`, `delete`.",
					Required:            true,
					ElementType:         types.StringType,
					Validators:          nonEmptyList,
				},
				"resource_names": schema.ListAttribute{
					MarkdownDescription: "Restrict the rule to these object names.",
					Optional:            true,
					ElementType:         types.StringType,
				},
			},
		},
	}
}

// runnerConfigAttribute is config, what runs take as their runner attribute: the
// shared attributes, computed.
func runnerConfigAttribute() schema.SingleNestedAttribute {
	configAttrs := map[string]schema.Attribute{}
	for name, typ := range runnerConfigAttrTypes {
		desc := runnerConfigDescriptions[name]
		if typ == types.BoolType {
			configAttrs[name] = schema.BoolAttribute{MarkdownDescription: desc, Computed: true}
		} else {
			configAttrs[name] = schema.StringAttribute{MarkdownDescription: desc, Computed: true}
		}
	}
	return schema.SingleNestedAttribute{
		MarkdownDescription: "The configuration to pass to runs: `runner = containerdriver_runner.<name>.config`. Known at plan time.",
		Computed:            true,
		Attributes:          configAttrs,
	}
}
