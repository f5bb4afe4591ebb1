# The module `containerdriver check` runs with the OpenTofu and Terraform templates
# (templates/opentofu/README.md): built-ins only, no network; an empty name is refused.
variable "name" {
  type = string
  validation {
    condition     = length(var.name) > 0
    error_message = "The name must not be empty."
  }
}

resource "terraform_data" "greeting" {
  input = "hello ${var.name}"
}

output "greeting" {
  value = terraform_data.greeting.output
}

output "greeting_id" {
  value = terraform_data.greeting.id
}

output "password" {
  value     = "pw-${substr(sha256(terraform_data.greeting.id), 0, 12)}"
  sensitive = true
}
