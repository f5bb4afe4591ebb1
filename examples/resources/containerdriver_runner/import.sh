# A runner is imported by its id: the namespace and the service account. The next apply
# sets the other attributes from the configuration and adopts the namespace, service
# account and Role this resource created before (they carry its labels).
terraform import containerdriver_runner.main iac-runners/iac-runner
