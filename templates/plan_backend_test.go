package templates_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

// The runner helper's plan action against the kubernetes backend of the cluster, with the
// real tools: the state Secret is byte for byte (and by resourceVersion) the same after
// every plan, the create applies the saved plan into the run's own Secret, a stale saved
// plan and one made for another run id are refused. The helper runs on this machine with
// the admin kubeconfig (the backend's config_path), since the executor of this branch
// cannot run ACTION=plan; in a pod it is the same backend through in_cluster_config.
func TestAccTemplate_PlanKubernetesBackend(t *testing.T) {
	c := testcluster.Client(t)
	helper := testcluster.GoBinary(t, "./cmd/runner-helper")
	for _, tool := range []struct{ name, bin string }{
		{"tofu", filepath.Join(testcluster.Dir(), "bin", "tofu")},
		{"terraform", "/usr/local/bin/terraform"},
	} {
		t.Run(tool.name, func(t *testing.T) {
			if _, err := os.Stat(tool.bin); err != nil {
				t.Skipf("%s is not installed (%v)", tool.name, err)
			}
			ns := testcluster.Namespace(t, c)
			h := &hostHelper{t: t, bin: helper, tool: tool.name, toolBin: tool.bin, ns: ns}
			runA := newUUID(t)
			secretA := "tfstate-default-" + runA

			// A fresh run: init creates the backend's empty state (the tools do so at every
			// first init); the plan adds nothing to it.
			p := h.run(runA, contract.ActionPlan, map[string]any{"name": "world"}, nil)
			if p.code != 0 {
				t.Fatalf("plan exited %d: %s", p.code, p.errorFile)
			}
			if diff := cmp.Diff(&contract.PlanSummary{Add: 1, HasChanges: true}, p.summary); diff != "" {
				t.Errorf("summary of the first plan (-want +got):\n%s", diff)
			}
			if st := readState(t, c, ns, secretA); st.Serial != 1 || st.Resources != 0 {
				t.Errorf("after the first plan the state is %+v, want the empty state init makes (serial 1, no resources)", st)
			}

			r := h.run(runA, contract.ActionCreate, map[string]any{"name": "world"}, map[string]string{contract.EnvPlanApply: "true", contract.EnvPlanArtifactDir: p.artifact})
			if r.code != 0 {
				t.Fatalf("the create with the saved plan exited %d: %s", r.code, r.errorFile)
			}
			if r.outputs["greeting"] != "hello world" {
				t.Errorf("outputs after applying the saved plan = %v", r.outputs)
			}
			if st := readState(t, c, ns, secretA); st.Resources != 1 {
				t.Errorf("after the create the run's state is %+v, want its one resource", st)
			}

			// Plans of every kind leave the Secret as it was, to its resourceVersion.
			before := readState(t, c, ns, secretA)
			for _, pl := range []struct {
				inputs map[string]any
				env    map[string]string
				want   contract.PlanSummary
			}{
				{map[string]any{"name": "world"}, nil, contract.PlanSummary{}},
				{map[string]any{"name": "again"}, nil, contract.PlanSummary{Change: 1, HasChanges: true}},
				{map[string]any{"name": "world"}, map[string]string{contract.EnvPlanDestroy: "true"}, contract.PlanSummary{Destroy: 1, HasChanges: true}},
			} {
				p := h.run(runA, contract.ActionPlan, pl.inputs, pl.env)
				if p.code != 0 {
					t.Fatalf("plan %v exited %d: %s", pl.inputs, p.code, p.errorFile)
				}
				if diff := cmp.Diff(&pl.want, p.summary); diff != "" {
					t.Errorf("plan %v %v: summary (-want +got):\n%s", pl.inputs, pl.env, diff)
				}
				if after := readState(t, c, ns, secretA); after != before {
					t.Errorf("plan %v %v changed the state Secret: %+v -> %+v", pl.inputs, pl.env, before, after)
				}
			}
			if holder := leaseHolder(t, c, ns, "lock-"+secretA); holder != "" {
				t.Errorf("the lock Lease is still held by %q after the plans", holder)
			}

			// A saved plan made when the state was different is stale.
			stale := h.run(runA, contract.ActionPlan, map[string]any{"name": "again"}, nil)
			if r := h.run(runA, contract.ActionCreate, map[string]any{"name": "third"}, nil); r.code != 0 {
				t.Fatalf("create exited %d: %s", r.code, r.errorFile)
			}
			before = readState(t, c, ns, secretA)
			r = h.run(runA, contract.ActionCreate, map[string]any{"name": "again"}, map[string]string{contract.EnvPlanApply: "true", contract.EnvPlanArtifactDir: stale.artifact})
			if r.code == 0 || !strings.Contains(r.errorFile, "Saved plan is stale") {
				t.Errorf("a stale saved plan: exit %d, error file:\n%s", r.code, r.errorFile)
			}
			if after := readState(t, c, ns, secretA); after != before {
				t.Errorf("the refused create changed the state: %+v -> %+v", before, after)
			}

			// A saved plan made with another run id is another Secret's: applying it would
			// write the resources there. Refused before the tool runs.
			other := h.run(newUUID(t), contract.ActionPlan, map[string]any{"name": "world"}, nil)
			runC := newUUID(t)
			r = h.run(runC, contract.ActionCreate, map[string]any{"name": "world"}, map[string]string{contract.EnvPlanApply: "true", contract.EnvPlanArtifactDir: other.artifact})
			if r.code != 1 || !strings.Contains(r.errorFile, "this run's state is the kubernetes backend's Secret "+ns+"/tfstate-default-"+runC) {
				t.Errorf("a saved plan of another run id: exit %d, error file:\n%s", r.code, r.errorFile)
			}

			if r := h.run(runA, contract.ActionDestroy, map[string]any{"name": "third"}, nil); r.code != 0 {
				t.Fatalf("destroy exited %d: %s", r.code, r.errorFile)
			}
		})
	}
}

// hostHelper runs the runner helper on this machine, each run in a fresh shared and
// temporary directory, as one pod would.
type hostHelper struct {
	t                      *testing.T
	bin, tool, toolBin, ns string
}

type hostRun struct {
	code      int
	errorFile string
	outputs   map[string]any
	summary   *contract.PlanSummary
	artifact  string
}

func (h *hostHelper) run(runID, action string, inputs map[string]any, extra map[string]string) hostRun {
	t := h.t
	t.Helper()
	shared, tmp := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(shared, "main.tf"), []byte(module), 0o644); err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(inputs)
	inputsFile := filepath.Join(tmp, "inputs.json")
	if err := os.WriteFile(inputsFile, in, 0o444); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": tmp, "TMPDIR": tmp,
		contract.EnvAction: action, contract.EnvScriptsDirectory: shared, contract.EnvResourceInputsFile: inputsFile,
		contract.EnvOutputsFile: contract.OutputsFile(shared), contract.EnvSecretOutputsFile: contract.SecretOutputsFile(shared),
		contract.EnvErrorFile: contract.ErrorFile(shared), contract.EnvRunID: runID,
	}
	r := hostRun{}
	if action == contract.ActionPlan {
		r.artifact = filepath.Join(t.TempDir(), contract.PlanArtifactDirName)
		if err := os.Mkdir(r.artifact, 0o755); err != nil {
			t.Fatal(err)
		}
		env[contract.EnvPlanFile] = contract.PlanFile(shared)
		env[contract.EnvPlanSummaryFile] = contract.PlanSummaryFile(shared)
		env[contract.EnvPlanArtifactDir] = r.artifact
	}
	for k, v := range extra {
		env[k] = v
	}
	cmd := exec.Command(h.bin, h.tool, "-binary", h.toolBin, "-backend", "kubernetes", "-state-namespace", h.ns,
		"-backend-config", "config_path="+testcluster.KubeconfigPath(), "-backend-config", "in_cluster_config=false")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %s (run %s): exit %d\n%s", h.tool, action, runID, r.code, out.String())
	if b, err := os.ReadFile(contract.ErrorFile(shared)); err == nil {
		r.errorFile = string(b)
	}
	if b, err := os.ReadFile(contract.OutputsFile(shared)); err == nil {
		if err := json.Unmarshal(b, &r.outputs); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(contract.PlanSummaryFile(shared)); err == nil {
		r.summary = &contract.PlanSummary{}
		if err := json.Unmarshal(b, r.summary); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// stateView is what a plan must not change of the state Secret.
type stateView struct {
	ResourceVersion string
	DataSHA256      string
	Serial          int
	Resources       int
}

func readState(t *testing.T, c kubernetes.Interface, ns, name string) stateView {
	t.Helper()
	s, err := c.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the state Secret: %v", err)
	}
	sum := sha256.Sum256(s.Data["tfstate"])
	v := stateView{ResourceVersion: s.ResourceVersion, DataSHA256: hex.EncodeToString(sum[:8])}
	// The backend gzips the state.
	zr, err := gzip.NewReader(bytes.NewReader(s.Data["tfstate"]))
	if err != nil {
		t.Fatalf("the state is not gzipped: %v", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip the state: %v", err)
	}
	var st struct {
		Serial    int   `json:"serial"`
		Resources []any `json:"resources"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("the state is not JSON: %v", err)
	}
	v.Serial, v.Resources = st.Serial, len(st.Resources)
	return v
}

func leaseHolder(t *testing.T, c kubernetes.Interface, ns, name string) string {
	t.Helper()
	l, err := c.CoordinationV1().Leases(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the lock Lease: %v", err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}
