import {
  to = containerdriver_runner.main
  id = "iac-runners/iac-runner" # NAMESPACE/SERVICE_ACCOUNT
}
