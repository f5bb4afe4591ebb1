import {
  to = containerdriver_runner.main
  id = "humanitec-runner/humanitec-container-runner" # NAMESPACE/SERVICE_ACCOUNT
}
