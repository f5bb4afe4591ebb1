terraform {
  required_providers {
    containerdriver = {
      source = "containerdriver/containerdriver"
    }
  }
}

# A namespace and service account for runs, created and deleted with this resource.
resource "containerdriver_runner" "main" {
  namespace              = "iac-runners"
  service_account        = "iac-runner"
  create_namespace       = true
  create_service_account = true

  # An OpenTofu runner that keeps its state in Secrets of the namespace needs these too.
  extra_rules = [
    {
      api_groups = [""]
      resources  = ["secrets"]
      verbs      = ["get", "list", "create", "update", "delete"]
    },
    {
      api_groups = ["coordination.k8s.io"]
      resources  = ["leases"]
      verbs      = ["get", "list", "create", "update", "delete"]
    },
  ]

  pod_template = yamlencode({
    spec = {
      imagePullSecrets = [{ name = "ghcr-private-registry" }]
    }
  })
}
