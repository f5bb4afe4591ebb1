package provider

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
)

// TestAccRunPlan_SecretsMakeTheirOwnPreview: two previewed creates that differ only in a
// secret variable get previews of their own (the plan key holds the claim's HMAC of the
// secrets), so each is shown and applies the plan made with its own secret, under a run id
// of its own. Keyed without the secrets, both got one plan_id and one previewed run id,
// and the second create could not run.
func TestAccRunPlan_SecretsMakeTheirOwnPreview(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	e.grantInfra(t)
	c.write(e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  for_each = { a = "first-secret-1234", b = "second-secret-5678" }
  %s
  inputs = { infra = { name = "infra", data = { a = "same" } } }
  plan   = {}
}
`, e.jobBlock("mount_service_account_token = true\n    secret_variables = { S = each.value }")))
	planFile := filepath.Join(c.dir, "tfplan")
	c.must("plan", "plan", "-out="+planFile)
	out, err := c.cmd("show", "-json", planFile).Output()
	if err != nil {
		t.Fatalf("show -json: %v", err)
	}
	var p struct {
		ResourceChanges []struct {
			Index  string `json:"index"`
			Change struct {
				After map[string]any `json:"after"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	planIDs, ids := map[string]bool{}, map[string]bool{}
	for _, r := range p.ResourceChanges {
		pid, _ := r.Change.After["plan_id"].(string)
		id, _ := r.Change.After["id"].(string)
		if pid == "" || id == "" {
			t.Fatalf("instance %s: plan_id %q, id %q: want both known at plan", r.Index, pid, id)
		}
		planIDs[pid], ids[id] = true, true
	}
	if len(p.ResourceChanges) != 2 || len(planIDs) != 2 || len(ids) != 2 {
		t.Fatalf("two instances differing in a secret share a preview: plan ids %v, run ids %v", planIDs, ids)
	}
	if out, ok := c.applyPlanFile(planFile); !ok {
		t.Fatalf("apply of the saved plan failed:\n%s", out)
	}
	c.must("destroy", "destroy", "-auto-approve")
	e.noJobsLeft(t)
}
