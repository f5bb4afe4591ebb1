package provider

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/tooling/imagebuild"
)

// TestAccRun_RunnerPullPolicyFollowsTag: a runner image tagged latest is pulled Always, as
// Kubernetes pulls a container without a policy. The image exists only in the node's
// containerd (its registry host does not resolve), so Always fails with a pull error that
// names the image, and the Job's runner has imagePullPolicy Always; a pod_template that
// sets IfNotPresent on the runner makes the same image run.
func TestAccRun_RunnerPullPolicyFollowsTag(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	bin := testcluster.GoBinary(t, "./internal/testsupport/testrunner")
	image := testcluster.ImageRegistry + "/pull-policy:latest"
	testcluster.BuildImage(t, image, imagebuild.Spec{
		Files:      []imagebuild.File{{Path: "/testrunner", Source: bin, Mode: 0o755}},
		Dirs:       []imagebuild.Dir{{Path: "/tmp", Mode: 0o1777}},
		Entrypoint: []string{"/testrunner"},
		User:       "1000:1000",
	})
	e.runner = image
	c.write(e.runConfig(`{ outputs = { ran = "yes" } }`, ""))
	out, ok := c.run("apply", "-auto-approve")
	if ok || !strings.Contains(out, "ErrImagePull") {
		t.Errorf("a latest image that is only on the node: want the apply to fail pulling it (Always), got ok=%v:\n%s", ok, out)
	}
	jobs := e.seen.JobSpecs(map[string]string{contract.LabelAction: contract.ActionCreate})
	if len(jobs) != 1 {
		t.Fatalf("want one create Job, saw %d", len(jobs))
	}
	for _, ct := range jobs[0].Spec.Template.Spec.Containers {
		if ct.Name == contract.ContainerRunner && ct.ImagePullPolicy != corev1.PullAlways {
			t.Errorf("the runner of %s is pulled %s, want Always", image, ct.ImagePullPolicy)
		}
	}
	c.write(strings.Replace(e.runConfig(`{ outputs = { ran = "yes" } }`, ""), `service_account = "runner"`,
		`service_account = "runner"
    pod_template    = "spec:\n  containers:\n  - name: runner\n    imagePullPolicy: IfNotPresent\n"`, 1))
	out = c.must("apply with IfNotPresent", "apply", "-auto-approve")
	if !strings.Contains(out, `"ran" = "yes"`) {
		t.Errorf("with imagePullPolicy IfNotPresent in pod_template the run did not run:\n%s", out)
	}
	c.destroyAndCheck(e)
}
