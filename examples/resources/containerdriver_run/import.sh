# A run is imported by its namespace and run id (the id attribute in the state it came
# from; also the containerdriver.io/run-id label of its kept Jobs). The next apply
# runs the container in place with that id (ACTION=create), so the runner finds the state
# it keeps under CONTAINERDRIVER_RUN_ID, and fills in the outputs.
terraform import containerdriver_run.s3 iac-runners/0b6f3c1e-5d2a-4f7e-9c1b-2a3d4e5f6a7b
