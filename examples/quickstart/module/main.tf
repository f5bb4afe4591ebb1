# The OpenTofu module the quickstart's run applies inside the cluster. It needs no network
# and no provider: terraform_data is built into OpenTofu and Terraform.

variable "name" {
  type        = string
  description = "Who to greet."
}

variable "environment" {
  type        = string
  description = "A label for the greeting."
}

# A resource with an identity of its own, kept in the state: the same on every re-apply,
# gone after destroy.
resource "terraform_data" "greeting" {
  input = "Hello, ${var.name}! (from OpenTofu, in ${var.environment})"
}

output "greeting" {
  value = terraform_data.greeting.output
}

output "greeting_id" {
  value = terraform_data.greeting.id
}

output "password" {
  description = "Derived from the resource's identity: stable across re-applies."
  value       = substr(sha256("${terraform_data.greeting.id}/${var.name}"), 0, 20)
  sensitive   = true
}
