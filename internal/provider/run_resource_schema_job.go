package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

func namespaceValidators() []validator.String {
	return []validator.String{
		stringvalidator.LengthAtLeast(1),
		kubernetesNameValidator{what: "namespace name", check: containerdriver.NamespaceNameError},
	}
}

func serviceAccountValidators() []validator.String {
	return []validator.String{
		stringvalidator.LengthAtLeast(1),
		kubernetesNameValidator{what: "service account name", check: containerdriver.SubdomainNameError},
	}
}

// kubernetesNameValidator checks a name with apimachinery's validation, as the API server
// will (stringvalidator has no validator that calls a function).
type kubernetesNameValidator struct {
	what  string
	check func(string) string
}

func (v kubernetesNameValidator) Description(context.Context) string {
	return "must be a valid Kubernetes " + v.what
}

func (v kubernetesNameValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v kubernetesNameValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	name := req.ConfigValue.ValueString()
	if why := v.check(name); why != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Kubernetes Name",
			fmt.Sprintf("%q is not a valid %s: %s.", name, v.what, why))
	}
}

// runnerConfigAttrTypes is the type of containerdriver_runner.config and of
// containerdriver_run.runner: the two must stay identical so that
// `runner = containerdriver_runner.main.config` type-checks.
var runnerConfigAttrTypes = map[string]attr.Type{
	"namespace":                   types.StringType,
	"service_account":             types.StringType,
	"pod_template":                types.StringType,
	"skip_permission_checks":      types.BoolType,
	"sidecar_image":               types.StringType,
	"mount_service_account_token": types.BoolType,
}

// podTemplateRules is what a pod template may not do, for every pod_template attribute.
const podTemplateRules = "A template adds and changes, it never removes or replaces what the driver sets. It is read as the Kubernetes API server reads " +
	"a request with strict field validation: field names are exact and case-sensitive (`hostPID`, not `HostPID` or `hostpid`), and an unknown " +
	"or repeated field fails the plan. The pod it makes is then compared with the pod the driver builds (a field set to the driver's own value is " +
	"no change; what it sets for a sidecar the run does not have, such as `git-init` without a `source`, is left out), and plan fails, naming the " +
	"field and why, on:\n" +
	"  * an explicit `null` anywhere (in a merge patch it deletes the default) and `$patch`, `$retainKeys` or any other `$` directive;\n" +
	"  * in `metadata`, anything but `labels` and `annotations` (`metadata.namespace`: use `job.namespace`), and an AppArmor or seccomp annotation " +
	"other than `runtime/default` or `localhost/<profile>`;\n" +
	"  * `spec.serviceAccountName` and `spec.serviceAccount` (use `job.service_account`, which `pre-checks` verifies); " +
	"`spec.automountServiceAccountToken` (use `job.mount_service_account_token`); `spec.restartPolicy`; `hostNetwork`, `hostPID`, `hostIPC` or " +
	"`shareProcessNamespace` set to `true`; `ephemeralContainers`; any other pod field that is not one of `imagePullSecrets`, `nodeSelector`, " +
	"`nodeName`, `affinity`, `tolerations`, `schedulerName`, `priorityClassName`, `priority`, `preemptionPolicy`, `topologySpreadConstraints`, " +
	"`terminationGracePeriodSeconds`, `activeDeadlineSeconds`, `dnsPolicy`, `dnsConfig`, `hostAliases`, `hostname`, `subdomain`, `setHostnameAsFQDN`, " +
	"`enableServiceLinks`, `runtimeClassName`, `overhead`, `readinessGates`, `os`, `schedulingGates`, `resourceClaims`, `resources`, `hostUsers`, " +
	"`securityContext` (below), `volumes` and containers of its own;\n" +
	"  * on the `runner` container, any field but `resources`, `resizePolicy`, `imagePullPolicy`, `securityContext`, `workingDir`, `ports`, the probes, " +
	"`lifecycle`, `stdin`, `stdinOnce` and `tty` (so `image`, `command`, `args`, `env`, `envFrom`, `volumeMounts`, `volumeDevices`, `restartPolicy`, " +
	"`terminationMessagePath` and `terminationMessagePolicy` are refused); on the sidecars the driver builds (`outputs-fetcher`, `pre-checks`, " +
	"`git-init`, `state-restore`), any field but `resources`, `resizePolicy`, `imagePullPolicy` and `securityContext`; a driver container's name in " +
	"the other container list;\n" +
	"  * a container the template adds without the restricted security context: `allowPrivilegeEscalation: false`, `capabilities.drop: [ALL]`, " +
	"`runAsNonRoot: true` and `seccompProfile.type: RuntimeDefault` (or `Localhost`), the last two possibly from `spec.securityContext`;\n" +
	"  * a volume named like one of the driver's (`shared-directory`, `resource-inputs`, `files`, `secret-files`, `containerdriver-api-access`, `state`, " +
	"`target`, `deployer-data`, `deployer-data-content`), any `hostPath` volume, a projected `serviceAccountToken`, and a mount of the driver's token volume;\n" +
	"  * in the pod's or any container's `securityContext`: `privileged` or `allowPrivilegeEscalation` `true`, `runAsUser: 0`, `runAsNonRoot: false`, " +
	"a `procMount` other than `Default`, `capabilities.add` other than `NET_BIND_SERVICE`, a `capabilities.drop` without `ALL`, a `seccompProfile` or " +
	"`appArmorProfile` other than `RuntimeDefault` or `Localhost`, `seLinuxOptions` with a `user`, a `role` or a `type` other than `container_t`, " +
	"`container_init_t`, `container_kvm_t` or `container_engine_t`, `windowsOptions.hostProcess: true`, and a sysctl outside Kubernetes' safe set."

var runnerConfigDescriptions = map[string]string{
	"namespace":              "The namespace the runs' Jobs are created in.",
	"service_account":        "The service account the runs' pods run as.",
	"pod_template":           "A pod template (YAML `PodTemplateSpec`) merged into every run's default template, before the run's own `job.pod_template`, with the same rules.",
	"skip_permission_checks": "Whether runs skip the `pre-checks` init container.",
	"sidecar_image":          "The sidecar image the runs use instead of the provider's `sidecar_image`.",
	"mount_service_account_token": "Whether the runs' `runner` containers get the service account's token, unless a run's " +
		"`job.mount_service_account_token` says otherwise.",
}

// runnerBlock is runner: a containerdriver_runner's config (runnerConfigAttrTypes), whose
// attributes validate as the run's own do.
func runnerBlock() schema.SingleNestedAttribute {
	runnerAttrs := map[string]schema.Attribute{
		"namespace": schema.StringAttribute{
			MarkdownDescription: runnerConfigDescriptions["namespace"], Optional: true, Validators: namespaceValidators(),
		},
		"service_account": schema.StringAttribute{
			MarkdownDescription: runnerConfigDescriptions["service_account"], Optional: true, Validators: serviceAccountValidators(),
		},
		"pod_template": schema.StringAttribute{
			MarkdownDescription: runnerConfigDescriptions["pod_template"], Optional: true, Validators: []validator.String{validPodTemplate()},
		},
		"skip_permission_checks": schema.BoolAttribute{
			MarkdownDescription: runnerConfigDescriptions["skip_permission_checks"], Optional: true,
		},
		"sidecar_image": schema.StringAttribute{
			MarkdownDescription: runnerConfigDescriptions["sidecar_image"], Optional: true, Validators: []validator.String{validImage()},
		},
		"mount_service_account_token": schema.BoolAttribute{
			MarkdownDescription: runnerConfigDescriptions["mount_service_account_token"], Optional: true,
		},
	}
	return schema.SingleNestedAttribute{
		MarkdownDescription: "A runner configuration shared by many runs, usually `containerdriver_runner.<name>.config`. " +
			"A run may set `job.namespace` and `job.service_account` itself or take them from here, not both; " +
			"its `job.pod_template` is merged on top of the runner's `pod_template`, and its `skip_permission_checks`, when set, wins.",
		Optional:   true,
		Attributes: runnerAttrs,
	}
}

// jobBlock is job: how the Job that runs the image is built (the contract's job object).
func jobBlock() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		MarkdownDescription: "How the Kubernetes Job that runs the image is built (the `job` object of [the runner contract](../guides/contract.md), with its secret variables).",
		Required:            true,
		Attributes: map[string]schema.Attribute{
			"image": schema.StringAttribute{
				MarkdownDescription: "The image the `runner` container runs, e.g. `ghcr.io/my-org/my-runner:1.1.0`. " +
					"Pin a digest (`@sha256:...`) to be sure that destroy runs the same code; otherwise destroy uses the digest create reported, when it can. " +
					"It is pulled as Kubernetes pulls a container that sets no `imagePullPolicy`: `Always` for the tag `latest` or no tag, " +
					"`IfNotPresent` for any other tag or a digest; `job.pod_template` may set the `runner` container's `imagePullPolicy`.",
				Required:   true,
				Validators: []validator.String{validImage()},
			},
			"command": schema.ListAttribute{
				MarkdownDescription: "The entrypoint of the runner container. The image's `ENTRYPOINT` is used when not set.",
				Optional:            true,
				ElementType:         types.StringType,
			},
			"shared_directory": schema.StringAttribute{
				MarkdownDescription: "The mount point of the directory shared by the runner and the sidecars (an emptyDir). " +
					"The runner works there (`SCRIPTS_DIRECTORY`); relative `files` and the git checkout land there. " +
					"Must not hide a directory of the image. Defaults to `" + defaultSharedDirectory + "`.",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(defaultSharedDirectory),
				Validators: []validator.String{validSharedDirectory()},
			},
			"service_account": schema.StringAttribute{
				MarkdownDescription: "The service account the pod runs as. It needs `create` on `configmaps` and `secrets` in the namespace " +
					"(see `containerdriver_runner`). Required unless `runner` gives one.",
				Optional:   true,
				Validators: serviceAccountValidators(),
			},
			"namespace": schema.StringAttribute{
				MarkdownDescription: "The namespace the Job runs in. Taken from `runner` when not set here, else `" + containerdriver.DefaultNamespace + "`. " +
					"Changing the namespace a run uses replaces the resource.",
				Optional:   true,
				Validators: namespaceValidators(),
			},
			"pod_template": schema.StringAttribute{
				MarkdownDescription: "A pod template (YAML `PodTemplateSpec`) merged into the default one (a strategic merge: containers, " +
					"volumes and env merge by name), e.g. to add `imagePullSecrets`, resources, node selectors, tolerations, or containers and volumes of your own. " +
					podTemplateRules,
				Optional:   true,
				Validators: []validator.String{validPodTemplate()},
			},
			"variables": schema.MapAttribute{
				MarkdownDescription: "Environment variables of the runner container.",
				Optional:            true,
				ElementType:         types.StringType,
			},
			"secret_variables": schema.MapAttribute{
				MarkdownDescription: "Environment variables of the runner container with sensitive values. They reach the pod through a Secret. " +
					"Each value must be empty or at least 4 characters long, so that it can be masked in logs.",
				Optional:    true,
				Sensitive:   true,
				ElementType: types.StringType,
			},
			"mount_service_account_token": schema.BoolAttribute{
				MarkdownDescription: "Give the `runner` container the Kubernetes token of `job.service_account` (at " +
					"`/var/run/secrets/kubernetes.io/serviceaccount`, where client libraries look for it). Taken from `runner` when not set, " +
					"else `false`: the pod is created with `automountServiceAccountToken: false` and only the sidecars that talk to the API " +
					"(`outputs-fetcher`, `pre-checks`, `state-restore`) get the token. Set it when the runner itself uses the API, " +
					"for example the OpenTofu or Terraform `kubernetes` backend. The runner can then do everything the service " +
					"account may do in the namespace, including reading the Secrets of every other run there: see the trust model below.",
				Optional: true,
			},
		},
	}
}
