import {
  to = containerdriver_run.s3
  id = "iac-runners/0b6f3c1e-5d2a-4f7e-9c1b-2a3d4e5f6a7b" # NAMESPACE/RUN_ID
}
