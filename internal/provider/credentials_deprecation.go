package provider

// credentialsDeprecation is the plan-time warning of `credentials`: Terraform and OpenTofu
// core print the values of dynamic attributes at DEBUG ("ignoring dynamic block"), which
// the provider cannot prevent; credentials_json, a sensitive string, is not printed
// (TestAccRun_CredentialsJSONKeptOutOfCoreLog measures both).
const credentialsDeprecation = "Terraform and OpenTofu print the values of dynamic attributes such as `credentials` in their TF_LOG=debug " +
	"and trace logs, sensitive or not, so CI logs kept with TF_LOG=debug hold these credentials in clear. " +
	"Use credentials_json = jsonencode(<the same object>) instead, which they do not print."
