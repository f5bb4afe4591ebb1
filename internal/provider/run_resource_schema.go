package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/dynamicvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

// defaultSharedDirectory is job.shared_directory when not set. The contract gives no
// default; /workspace is short, absent from common base images, and writable by any UID
// because it is an emptyDir.
const defaultSharedDirectory = "/workspace"

func namespaceValidators() []validator.String {
	return []validator.String{
		stringvalidator.LengthBetween(1, 63),
		stringvalidator.RegexMatches(containerdriver.DNSLabelRe, "must be a valid namespace name (lower case letters, digits and '-')"),
	}
}

func serviceAccountValidators() []validator.String {
	return []validator.String{
		stringvalidator.LengthBetween(1, 253),
		stringvalidator.RegexMatches(containerdriver.DNSSubdomainRe, "must be a valid service account name (lower case letters, digits, '-' and '.')"),
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

func runSchema(ctx context.Context) schema.Schema {
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

	s := schema.Schema{
		MarkdownDescription: "Runs a container image as a Kubernetes Job following the Container Driver contract, " +
			"and brings its outputs back.\n\n" +
			"* **Create** runs the image with `ACTION=create`.\n" +
			"* **A change of any input** runs it again with `ACTION=create`, in place: runners are expected to be idempotent " +
			"(an IaC tool converges to the new inputs). Only a change of the namespace the run uses replaces the resource, " +
			"because a runner's state lives there. Changing only `keep_job` or `timeouts` runs nothing.\n" +
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
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The run's identity, made at create and kept across updates. The runner receives it as `CONTAINERDRIVER_RUN_ID`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"runner": schema.SingleNestedAttribute{
				MarkdownDescription: "A runner configuration shared by many runs, usually `containerdriver_runner.<name>.config`. " +
					"A run may set `job.namespace` and `job.service_account` itself or take them from here, not both; " +
					"its `job.pod_template` is merged on top of the runner's `pod_template`, and its `skip_permission_checks`, when set, wins.",
				Optional:   true,
				Attributes: runnerAttrs,
			},
			"job": schema.SingleNestedAttribute{
				MarkdownDescription: "How the Kubernetes Job that runs the image is built (the `job` object of [the runner contract](../guides/contract.md), with its secret variables).",
				Required:            true,
				Attributes: map[string]schema.Attribute{
					"image": schema.StringAttribute{
						MarkdownDescription: "The image the `runner` container runs, e.g. `ghcr.io/my-org/my-runner:1.1.0`. " +
							"Pin a digest (`@sha256:...`) to be sure that destroy runs the same code; otherwise destroy uses the digest create reported, when it can.",
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
			},
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
			"source": schema.SingleNestedAttribute{
				MarkdownDescription: "A git repository checked out into `job.shared_directory` by the `git-init` init container before the runner starts.",
				Optional:            true,
				Validators:          []validator.Object{sshHostKeyWarning{}, noCleartextPassword{}},
				Attributes: map[string]schema.Attribute{
					"url": schema.StringAttribute{
						MarkdownDescription: "The repository: `https://host/org/repo.git`, or over SSH `git@host:org/repo.git` or `ssh://git@host/org/repo.git`. " +
							"It must not hold credentials (`https://user:token@...`, `https://token@...`, `ssh://user:password@...`): the URL is shown in the Job spec " +
							"and in errors, so plan fails; use `username` and `password` (or `ssh_key`). A plain `http://` URL is accepted only without a password " +
							"(`password` or `password_wo`): plan fails otherwise, as the password would cross the network in clear.",
						Required:   true,
						Validators: []validator.String{validGitURL()},
					},
					"ref": schema.StringAttribute{
						MarkdownDescription: "A full branch or tag name (`refs/heads/main`, `refs/tags/v1`) or a commit SHA. The repository's HEAD when not set. " +
							"Destroy checks out the commit that the last run used, whatever the ref points to then.",
						Optional: true,
					},
					"path": schema.StringAttribute{
						MarkdownDescription: "A directory of the repository: only its content is copied into the shared directory.",
						Optional:            true,
					},
					"username": schema.StringAttribute{
						MarkdownDescription: "The user name to authenticate with. `git` when not set.",
						Optional:            true,
					},
					"password": schema.StringAttribute{
						MarkdownDescription: "A password or personal access token, for an HTTPS URL (plan fails for an `http://` URL, which would send it in clear).",
						Optional:            true,
						Sensitive:           true,
						Validators: []validator.String{stringvalidator.ConflictsWith(
							path.MatchRelative().AtParent().AtName("ssh_key"), path.MatchRelative().AtParent().AtName("ssh_key_wo"),
							path.MatchRelative().AtParent().AtName("password_wo"))},
					},
					"password_wo": schema.StringAttribute{
						MarkdownDescription: "Like `password`, but write-only: never stored in the plan or the state, kept for destroy as " +
							"`secret_variables_wo` is. Requires `secrets_wo_version`.",
						Optional:  true,
						Sensitive: true,
						WriteOnly: true,
						Validators: []validator.String{
							stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("ssh_key"), path.MatchRelative().AtParent().AtName("ssh_key_wo")),
							stringvalidator.AlsoRequires(path.MatchRoot("secrets_wo_version")),
						},
					},
					"ssh_key": schema.StringAttribute{
						MarkdownDescription: "A private SSH key (PEM or OpenSSH format), for an SSH URL.",
						Optional:            true,
						Sensitive:           true,
						Validators:          []validator.String{stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("ssh_key_wo"))},
					},
					"ssh_key_wo": schema.StringAttribute{
						MarkdownDescription: "Like `ssh_key`, but write-only: never stored in the plan or the state, kept for destroy as " +
							"`secret_variables_wo` is. Requires `secrets_wo_version`.",
						Optional:   true,
						Sensitive:  true,
						WriteOnly:  true,
						Validators: []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("secrets_wo_version"))},
					},
					"known_hosts": schema.StringAttribute{
						MarkdownDescription: "The server's SSH host keys in `known_hosts` format (e.g. the output of `ssh-keyscan <host>`). " +
							"When not set, the host key is not verified, and plan warns about it for an SSH URL.",
						Optional: true,
					},
				},
			},
			"credentials_config": schema.SingleNestedAttribute{
				MarkdownDescription: "How `credentials` are made available to the runner.",
				Optional:            true,
				Validators: []validator.Object{objectvalidator.Any(
					objectvalidator.AlsoRequires(path.MatchRoot("credentials")),
					objectvalidator.AlsoRequires(path.MatchRoot("credentials_json")),
					objectvalidator.AlsoRequires(path.MatchRoot("credentials_json_wo")),
				)},
				Attributes: map[string]schema.Attribute{
					"environment": schema.MapAttribute{
						MarkdownDescription: "Environment variables of the runner, name to credential key: a key path with `.` as delimiter " +
							"(`aws.accessKeyId`), `*` for the whole credentials as JSON, or the value of `file` for that file's path. " +
							"An object is set as its JSON text.",
						Optional:    true,
						ElementType: types.StringType,
					},
					"file": schema.StringAttribute{
						MarkdownDescription: "A relative path, in the shared directory, of a file holding the whole credentials as JSON, e.g. `credentials.json`.",
						Optional:            true,
					},
					"script_variables": schema.SingleNestedAttribute{
						MarkdownDescription: "A JSON file of variables drawn from the credentials, e.g. a `*.tfvars.json` file.",
						Optional:            true,
						Attributes: map[string]schema.Attribute{
							"file": schema.StringAttribute{
								MarkdownDescription: "The file: a relative path lands in the shared directory, an absolute path is mounted there.",
								Required:            true,
							},
							"variables": schema.MapAttribute{
								MarkdownDescription: "Variable to credential key (as in `environment`). A variable name with dots makes nested objects: " +
									"`SECRET.ID` is the field `ID` of the object variable `SECRET`. An object value stays an object.",
								Optional:    true,
								ElementType: types.StringType,
							},
						},
					},
				},
			},
			"credentials": schema.DynamicAttribute{
				MarkdownDescription: "The credentials object that `credentials_config` draws from: an object " +
					"(`{ aws = { accessKeyId = ..., secretAccessKey = ... } }`) or a JSON string of one (`jsonencode(...)`, `file(\"creds.json\")`). " +
					"It reaches the pod only through Secrets. Terraform and OpenTofu themselves print the values of dynamic attributes " +
					"in their `TF_LOG=debug` logs, sensitive or not: prefer `credentials_json`, which they do not. Deprecated for that reason: " +
					"setting it warns at plan time.",
				Optional:           true,
				DeprecationMessage: credentialsDeprecation,
				Sensitive:          true,
				Validators:         []validator.Dynamic{dynamicvalidator.ConflictsWith(path.MatchRoot("credentials_json"), path.MatchRoot("credentials_json_wo"))},
			},
			"credentials_json": schema.StringAttribute{
				MarkdownDescription: "The same credentials object as `credentials`, as a JSON string (`jsonencode({ aws = { ... } })`), " +
					"for `credentials_config` to draw from. Unlike `credentials`, its value does not appear in Terraform's or OpenTofu's own " +
					"`TF_LOG=debug` logs. Set one of `credentials`, `credentials_json` and `credentials_json_wo`.",
				Optional:   true,
				Sensitive:  true,
				Validators: []validator.String{stringvalidator.ConflictsWith(path.MatchRoot("credentials_json_wo"))},
			},
			"credentials_json_wo": schema.StringAttribute{
				MarkdownDescription: "Like `credentials_json`, but write-only: never stored in the plan or the state, kept for destroy as " +
					"`secret_variables_wo` is. Requires `secrets_wo_version`.",
				Optional:   true,
				Sensitive:  true,
				WriteOnly:  true,
				Validators: []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("secrets_wo_version"))},
			},
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
			"skip_permission_checks": schema.BoolAttribute{
				MarkdownDescription: "Skip the permission checks: that the service account may create the ConfigMaps and Secrets the outputs " +
					"are returned through, checked by the provider (`LocalSubjectAccessReview`s, when its credentials may create them) or else by " +
					"the `pre-checks` init container. Taken from `runner` when not set, else `false`.",
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
			"timeouts": timeoutsAttribute(ctx, "How long a run may take. When it is over, the pod is stopped gracefully (the runner gets SIGTERM and the pod's termination grace period; the state directory is saved after it) and the error says the run timed out. Each defaults to `20m`. See the [failure modes](../guides/failure-modes.md) guide."),

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
		},
	}
	for name, a := range deployerAttributes() {
		s.Attributes[name] = a
	}
	for name, a := range secretOutputsJSONAttributes() {
		s.Attributes[name] = a
	}
	for name, a := range planAttributes() { // run_resource_preview.go
		s.Attributes[name] = a
	}
	return s
}

// runInputAttributes are the attributes whose change runs the container again.
var runInputAttributes = []string{
	"runner", "job", "files", "secret_files", "source", "credentials_config", "credentials", "credentials_json", "credentials_json_wo", "secrets_wo_version",
	"skip_permission_checks", "manifests_output", "inputs",
	"contract", "state_path", "target", "component_descriptor", "content", "secret_outputs_as_json",
}

// runComputedAttributes are set from a run's result.
var runComputedAttributes = []string{"outputs", "secret_outputs", "secret_outputs_json", "manifests", "git_commit", "image_digest", "job_name", "state_size", "runner_status"}

// timeoutsAttribute is the timeouts attribute with a description of its defaults.
func timeoutsAttribute(ctx context.Context, desc string) schema.Attribute {
	a := withTimeoutChecks(timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}))
	if n, ok := a.(schema.SingleNestedAttribute); ok {
		n.MarkdownDescription = desc
		return n
	}
	return a
}
