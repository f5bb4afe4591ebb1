terraform {
  required_providers {
    containerdriver = {
      source = "containerdriver/containerdriver"
    }
  }
}

# Connect with a kubeconfig file. Only the files named here are read: ~/.kube/config and
# KUBECONFIG are not read unless named.
provider "containerdriver" {
  config_path    = "~/.kube/config"
  config_context = "my-cluster"
}

# Or connect to a cluster created in the same configuration (here an EKS cluster whose
# endpoint, certificate and name come in as variables; with the aws provider, use
# aws_eks_cluster.main.endpoint and so on): the client is only built when a resource
# needs it, after the cluster exists.
variable "cluster_endpoint" {
  type = string
}

variable "cluster_ca_certificate" {
  type        = string
  description = "The cluster's CA certificate, base64-encoded as EKS returns it."
}

variable "cluster_name" {
  type = string
}

provider "containerdriver" {
  alias                  = "eks"
  host                   = var.cluster_endpoint
  cluster_ca_certificate = base64decode(var.cluster_ca_certificate)

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", var.cluster_name]
  }
}
