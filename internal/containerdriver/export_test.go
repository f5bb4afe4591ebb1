package containerdriver

import "time"

// WithContractVersion makes e tell the sidecars another sidecar contract version, as a
// provider of that version would (for the cluster tests in package containerdriver_test).
func WithContractVersion(e *Executor, v string) *Executor {
	e.contractVersion = v
	return e
}

// RememberFor makes e remember the answers it is given about a service account for d
// instead of rememberedAnswerLife (for the cluster tests in package containerdriver_test
// that need an answer still remembered on a loaded machine).
func RememberFor(e *Executor, d time.Duration) *Executor {
	e.rememberFor = d
	return e
}
