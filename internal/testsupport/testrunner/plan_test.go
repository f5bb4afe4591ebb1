package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The plan action without infra (the paths with infra read and write a ConfigMap through
// the API server, in a pod: they are tested on the cluster).

func planEnv(t *testing.T) (dir string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "artifact"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PLAN_FILE", filepath.Join(dir, "plan.txt"))
	t.Setenv("PLAN_SUMMARY_FILE", filepath.Join(dir, "summary.json"))
	t.Setenv("PLAN_ARTIFACT_DIR", filepath.Join(dir, "artifact"))
	t.Setenv("STATE_PATH", "")
	t.Setenv("PLAN_DESTROY", "")
	return dir
}

func TestPlan_NoInfra(t *testing.T) {
	dir := planEnv(t)
	t.Setenv("PLAN_DESTROY", "true")
	t.Setenv("SHOWN", "value")
	if err := plan(readPlanInputs([]byte(`{"plan_echo_env":"SHOWN"}`))); err != nil {
		t.Fatal(err)
	}
	var sum map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil || json.Unmarshal(b, &sum) != nil || sum["has_changes"] != false || sum["add"] != float64(0) {
		t.Errorf("summary %s, %v", b, err)
	}
	var art artifact
	b, err = os.ReadFile(filepath.Join(dir, "artifact", "plan.json"))
	if err != nil || json.Unmarshal(b, &art) != nil || len(art.ID) != 16 || !art.Destroy {
		t.Fatalf("artifact %s, %v", b, err)
	}
	text, err := os.ReadFile(filepath.Join(dir, "plan.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No changes. (no infra in the inputs)", "env SHOWN = value", "artifact " + art.ID} {
		if !strings.Contains(string(text), want) {
			t.Errorf("plan text %q lacks %q", text, want)
		}
	}
}

func TestPlan_SymlinkAndStateCount(t *testing.T) {
	dir := planEnv(t)
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STATE_PATH", state)
	in := readPlanInputs([]byte(`{"plan_symlink":"/var/run/secrets/token","count_state":true}`))
	for range 2 {
		_ = os.Remove(filepath.Join(dir, "plan.txt"))
		if err := plan(in); err != nil {
			t.Fatal(err)
		}
	}
	if l, err := os.Readlink(filepath.Join(dir, "plan.txt")); err != nil || l != "/var/run/secrets/token" {
		t.Errorf("plan file link %q, %v", l, err)
	}
	if b, err := os.ReadFile(filepath.Join(state, "count")); err != nil || string(b) != "2" {
		t.Errorf("count %q, %v; want 2 after two plans", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "artifact", "plan.json")); !os.IsNotExist(err) {
		t.Errorf("an artifact with a symlinked plan: %v", err)
	}
}

func TestSortedKeysAndRandomID(t *testing.T) {
	if got := strings.Join(sortedKeys(map[string]string{"b": "", "a": "", "c": ""}), ","); got != "a,b,c" {
		t.Errorf("sortedKeys = %s", got)
	}
	a, b := randomID(), randomID()
	if len(a) != 16 || a == b {
		t.Errorf("randomID %q, %q", a, b)
	}
}
