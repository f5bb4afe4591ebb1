package outputsfetcher

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The plan Secrets hold the text, cut to MaxPlanTextBytes, and the summary; a plan file
// that is a symbolic link (to the API token this sidecar holds, say) is not followed.
func TestPlanObjects(t *testing.T) {
	cfg := testConfig(t)
	dir := t.TempDir()
	p := &planConfig{File: contract.PlanFile(dir), SummaryFile: contract.PlanSummaryFile(dir), ArtifactDir: contract.PlanArtifactDir(dir)}
	write(t, p.File, strings.Repeat("é", contract.MaxPlanTextBytes)) // twice the limit in bytes
	secretFile := filepath.Join(t.TempDir(), "token")
	write(t, secretFile, secretValue)
	if err := os.Symlink(secretFile, p.SummaryFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p.ArtifactDir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(p.ArtifactDir, "plan.bin"), "artifact")
	objs := planObjects(cfg, p)
	head := objs[len(objs)-1]
	if head.Name != "cd-job-plan" || head.Labels[contract.LabelRole] != contract.RolePlan || head.OwnerReferences[0].UID != "uid-1" {
		t.Errorf("head %s %v %v", head.Name, head.Labels, head.OwnerReferences)
	}
	text := head.Data[contract.KeyPlanText]
	if len(text) > contract.MaxPlanTextBytes || len(text) < contract.MaxPlanTextBytes-2 || string(head.Data[contract.KeyPlanTruncated]) != "true" {
		t.Errorf("text of %d bytes, truncated %q", len(text), head.Data[contract.KeyPlanTruncated])
	}
	if !strings.HasSuffix(string(text), "é") {
		t.Error("the text is not cut on a character boundary")
	}
	for _, o := range objs {
		for k, v := range o.Data {
			if strings.Contains(string(v), secretValue) {
				t.Errorf("%s %s holds the symbolic link's target", o.Name, k)
			}
		}
	}
	var problems []string
	if err := json.Unmarshal(head.Data[contract.KeyProblems], &problems); err != nil || len(problems) != 1 || !strings.Contains(problems[0], "symbolic link") {
		t.Errorf("problems %v (%v)", problems, err)
	}
	if len(head.Data[contract.KeyPlanArtifact]) == 0 || len(head.Data[contract.KeyPlanArtifactSHA256]) != 64 {
		t.Error("no artifact kept")
	}
}
