package containerdriver

import (
	"encoding/base64"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// runner_status is stored in plain state: its message (the termination message, which
// may be the log's tail) is masked, secret outputs included.
func TestRun_RunnerStatusMessageMasked(t *testing.T) {
	spec := minimalSpec()
	spec.Job.SecretVariables = map[string]string{"T": "var-canary-123"}
	built, _ := BuildJob(spec, contract.ActionCreate)
	name := built.Job.Name
	pod := finishedPod(name, corev1.PodSucceeded, 0)
	pod.Status.ContainerStatuses[0].State.Terminated.Message = "done var-canary-123 " +
		base64.StdEncoding.EncodeToString([]byte("var-canary-123")) + " out-canary-456"
	objs := append(outputObjects(name, outputs.Harvest{Outputs: []byte(`{}`), SecretOutputs: []byte(`{"s":"out-canary-456"}`)}), pod)
	res, err := runWithTimeout(t, &Executor{Client: fakeCluster(objs...)}, spec)
	if err != nil {
		t.Fatal(err)
	}
	if want := "done (sensitive value) (sensitive value) (sensitive value)"; res.Runner.Message != want {
		t.Errorf("runner status message = %q, want %q", res.Runner.Message, want)
	}
}
