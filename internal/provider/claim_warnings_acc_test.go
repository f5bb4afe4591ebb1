package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// TestAccRun_NoLeaseRightsWarnsUnprotected: a provider identity that may not use Leases
// still creates, updates and destroys, with the warning that its creates are not protected
// against a crash (the failure-modes guide's trade-off), and leaves nothing behind.
func TestAccRun_NoLeaseRightsWarnsUnprotected(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	var rules []rbacv1.PolicyRule
	for _, r := range documentedProviderRules {
		if len(r.APIGroups) == 1 && r.APIGroups[0] == "coordination.k8s.io" {
			continue
		}
		rules = append(rules, r)
	}
	if len(rules) != len(documentedProviderRules)-1 {
		t.Fatalf("the documented rules have no Leases rule to leave out: %v", documentedProviderRules)
	}
	e.kubeconfig = identityKubeconfig(t, e, "no-leases", rules)
	c.write(e.runConfig(`{ v = 1 }`, ""))
	out := c.must("create", "apply", "-auto-approve")
	if flat := strings.Join(strings.Fields(out), " "); !strings.Contains(flat, "Warning: Run Not Protected Against Crashes") {
		t.Errorf("a create without Lease rights did not warn:\n%s", out)
	}
	if id, _ := c.stateResource()["id"].(string); id == "" {
		t.Errorf("the create was not recorded")
	}
	c.must("destroy", "destroy", "-auto-approve")
	// The claim key Secret stays in the namespace by design (the failure-modes guide,
	// "What is left in the cluster"); nothing else may.
	var left []string
	for _, o := range e.everythingLeft(t) {
		if o != "secret/"+containerdriver.ClaimKeySecret {
			left = append(left, o)
		}
	}
	if len(left) != 0 {
		t.Errorf("left in %s: %v", e.ns, left)
	}
}

// TestAccRun_InterruptedCreateFoundIsReported: a claim of another create that nobody
// renewed for over 10 minutes, made for another configuration (another digest), is an
// interrupted create nobody will adopt: the next create in the namespace reports it by run
// id, with the label of its Jobs, and goes on with its own run.
func TestAccRun_InterruptedCreateFoundIsReported(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	const orphan = "0f1e2d3c-4b5a-4697-8887-766554433221"
	old := metav1.NewMicroTime(time.Now().Add(-11 * time.Minute))
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Name: containerdriver.ClaimName(orphan), Namespace: e.ns,
			Labels: map[string]string{
				contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRole: containerdriver.RoleCreateClaim,
				containerdriver.LabelCreateKey: "another-configuration", contract.LabelRunID: containerdriver.RunLabel(orphan),
			},
			Annotations: map[string]string{containerdriver.AnnotationRunID: orphan},
		},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr.To("a-terraform-that-died/1/abc"), LeaseDurationSeconds: ptr.To(int32(15)),
			AcquireTime: &old, RenewTime: &old,
		},
	}
	if _, err := e.client.CoordinationV1().Leases(e.ns).Create(context.Background(), lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.write(e.runConfig(`{ v = 1 }`, ""))
	out := c.must("create", "apply", "-auto-approve")
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"Warning: Interrupted Create Found", "a create of run " + orphan, contract.LabelRunID + "=" + orphan} {
		if !strings.Contains(flat, want) {
			t.Errorf("the create's output lacks %q:\n%s", want, out)
		}
	}
	if id, _ := c.stateResource()["id"].(string); id == "" || id == orphan {
		t.Errorf("the create recorded run %q, want a run of its own", id)
	}
	c.must("destroy", "destroy", "-auto-approve")
	// The report is a hint: the orphan's claim stays for whoever cleans up.
	if _, err := e.client.CoordinationV1().Leases(e.ns).Get(context.Background(), lease.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the orphan's claim: %v", err)
	}
}
