# Connect with a kubeconfig file. Only the files named here are read: ~/.kube/config and
# KUBECONFIG are not read unless named.
provider "containerdriver" {
  config_path    = "~/.kube/config"
  config_context = "my-cluster"
}

# Or connect to a cluster created in the same configuration: the client is only built
# when a resource needs it, after the cluster exists.
provider "containerdriver" {
  alias                  = "eks"
  host                   = aws_eks_cluster.main.endpoint
  cluster_ca_certificate = base64decode(aws_eks_cluster.main.certificate_authority[0].data)

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", aws_eks_cluster.main.name]
  }
}
