package containerdriver_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The runner gets no Kubernetes token unless job.mount_service_account_token asks for it,
// while the sidecars keep theirs: outputs come back and the state directory is restored and
// saved either way. The service account has the rights state_path needs (get and list on
// Secrets), so a runner with the token can read every Secret of the namespace.
func TestAccExecutor_RunnerTokenOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.grantState(t)
	spec := e.spec(t, map[string]any{
		"list_secrets":   true,
		"count_state":    true,
		"outputs":        map[string]any{"a": "b"},
		"secret_outputs": map[string]any{"s": "t"},
	})
	spec.State = &cd.StateSpec{Path: "/state"}
	for i, c := range []struct {
		mount bool
		want  string
	}{
		{false, "no token: "},
		{true, "listed "},
	} {
		spec.Job.MountServiceAccountToken = c.mount
		spec.Inputs.(map[string]any)["step"] = i // a changed input is a new Job
		res, _, err := e.run(t, spec, contract.ActionCreate)
		if err != nil {
			t.Fatalf("mount_service_account_token=%v: %v\n%s", c.mount, err, detail(err))
		}
		got := fmt.Sprint(res.Outputs["list_secrets"])
		t.Logf("mount_service_account_token=%v: the runner listing the namespace's Secrets: %s", c.mount, got)
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("mount_service_account_token=%v: the runner's attempt to list Secrets gave %q, want %q...", c.mount, got, c.want)
		}
		if res.Outputs["a"] != "b" || res.SecretOutputs["s"] != "t" {
			t.Errorf("mount_service_account_token=%v: outputs %v, secret outputs %v", c.mount, res.Outputs, res.SecretOutputs)
		}
		if fmt.Sprint(res.Outputs["count"]) != fmt.Sprint(i+1) {
			t.Errorf("mount_service_account_token=%v: state count = %v, want %d (state not restored or not saved)", c.mount, res.Outputs["count"], i+1)
		}
	}
	spec.Job.MountServiceAccountToken = false
	if _, _, err := e.run(t, spec, contract.ActionDestroy); err != nil {
		t.Fatalf("destroy: %v\n%s", err, detail(err))
	}
	secrets, err := e.c.CoreV1().Secrets(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "containerdriver.io/state-of"})
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items) != 0 {
		t.Errorf("state Secrets left after destroy: %d", len(secrets.Items))
	}
	e.assertEmpty(t)
}
