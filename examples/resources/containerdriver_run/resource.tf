terraform {
  required_providers {
    containerdriver = {
      source = "containerdriver/containerdriver"
    }
  }
}

variable "git_token" {
  type      = string
  sensitive = true
}

variable "aws_access_key_id" {
  type      = string
  sensitive = true
}

variable "aws_secret_access_key" {
  type      = string
  sensitive = true
}

# Where the runs go: the namespace and service account (see containerdriver_runner).
resource "containerdriver_runner" "main" {
  namespace              = "iac-runners"
  service_account        = "iac-runner"
  create_namespace       = true
  create_service_account = true
}

# Provision an S3 bucket by running OpenTofu code from a git repository in a runner image.
resource "containerdriver_run" "s3" {
  runner = containerdriver_runner.main.config

  job = {
    image   = "ghcr.io/my-org/my-opentofu-runner:1.1.0"
    command = ["/opt/container"]
    variables = {
      TF_IN_AUTOMATION = "1"
    }
  }

  source = {
    url      = "https://github.com/my-org/my-repo.git"
    ref      = "refs/heads/main"
    path     = "s3"
    password = var.git_token
  }

  files = {
    "terraform.tfvars.json" = jsonencode({ bucket = "my-app-dev-bucket" })
  }

  # credentials_json, not credentials: Terraform prints dynamic values in TF_LOG=debug logs.
  credentials_json = jsonencode({
    aws = {
      accessKeyId     = var.aws_access_key_id
      secretAccessKey = var.aws_secret_access_key
    }
  })
  credentials_config = {
    environment = {
      AWS_ACCESS_KEY_ID     = "aws.accessKeyId"
      AWS_SECRET_ACCESS_KEY = "aws.secretAccessKey"
    }
  }

  # Written as JSON to the file named by RESOURCE_INPUTS_FILE.
  inputs = {
    region = "eu-north-1"
  }

  timeouts = {
    create = "30m"
    delete = "30m"
  }
}

# The runner's OUTPUTS_FILE, e.g. {"bucket": "...", "region": "..."}.
output "bucket" {
  value = containerdriver_run.s3.outputs.bucket
}
