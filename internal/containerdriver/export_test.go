package containerdriver

// WithContractVersion makes e tell the sidecars another sidecar contract version, as a
// provider of that version would (for the cluster tests in package containerdriver_test).
func WithContractVersion(e *Executor, v string) *Executor {
	e.contractVersion = v
	return e
}
