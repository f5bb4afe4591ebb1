# The quickstart: OpenTofu running inside the cluster as a containerdriver_run, its state
# kept in the cluster, its outputs brought back. `make demo` applies it on the local cluster.

terraform {
  required_providers {
    containerdriver = {
      source = "containerdriver/containerdriver"
    }
  }
}

# The cluster connection comes from KUBE_CONFIG_PATH (make demo sets it), and the sidecar
# image from CONTAINERDRIVER_SIDECAR_IMAGE.
provider "containerdriver" {}

variable "runner_image" {
  type        = string
  description = "The OpenTofu runner image (templates/opentofu)."
  default     = "containerdriver.local/opentofu-runner:dev"
}

variable "name" {
  type    = string
  default = "newcomer"
}

# The namespace, the service account and its RBAC: what the sidecars need, plus what the
# OpenTofu runner's kubernetes backend does with its state (a Secret, locked by a Lease).
resource "containerdriver_runner" "main" {
  namespace              = "containerdriver-quickstart"
  service_account        = "opentofu-runner"
  create_namespace       = true
  create_service_account = true
  extra_rules = [
    {
      api_groups = [""]
      resources  = ["secrets"]
      verbs      = ["get", "list", "create", "update", "delete"]
    },
    {
      api_groups = ["coordination.k8s.io"]
      resources  = ["leases"]
      verbs      = ["get", "create", "update", "delete"]
    },
  ]
}

# Runs `tofu init` + `tofu apply` on module/main.tf in a Job; destroy runs `tofu destroy`.
resource "containerdriver_run" "hello" {
  runner = containerdriver_runner.main.config
  job = {
    image            = var.runner_image
    shared_directory = "/workspace"
    # OpenTofu's kubernetes backend keeps the state through the API, from the runner
    # container: it needs the service account's token, which runners do not get by default.
    mount_service_account_token = true
  }
  # The module lands in the shared directory, where the runner works.
  files = {
    "main.tf" = file("${path.module}/module/main.tf")
  }
  # The module's variables.
  inputs = {
    name        = var.name
    environment = "containerdriver-quickstart"
  }
  # The runner implements the plan action: `terraform plan` shows OpenTofu's own plan of the
  # module (a plan Job, ACTION=plan), the apply applies exactly that saved plan, and every
  # refresh asks OpenTofu whether the module's resources changed outside of it.
  plan = {
    preview      = true
    detect_drift = true
  }
}

output "greeting" {
  value = containerdriver_run.hello.outputs.greeting
}

output "outputs" {
  description = "Everything the module output, except its sensitive outputs."
  value       = containerdriver_run.hello.outputs
}

output "password" {
  description = "A sensitive output of the module: terraform output -raw password"
  value       = containerdriver_run.hello.secret_outputs.password
  sensitive   = true
}

output "state" {
  description = "How to see the module's state, which the runner keeps in the cluster."
  value       = "kubectl -n ${containerdriver_run.hello.namespace} get secrets,leases -l tfstateSecretSuffix"
}
