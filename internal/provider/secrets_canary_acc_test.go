package provider

// The issue-10 canary suite: one random canary, planted (with a suffix per input, so a
// leak names its input) in every secret input at once, followed through a succeeding
// apply, a failing apply and a destroy driven by the real CLI (terraform, or OpenTofu
// when TF_ACC_TERRAFORM_PATH names it) with TF_LOG=trace, and looked for, as written,
// base64 (standard and URL alphabets), JSON-escaped and URL-encoded, everywhere someone
// without the secrets may look.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

// canaries are the secret values of one test, by the input they were planted in.
type canaries map[string]string

// findIn reports every form of every canary (of only, when given) found in text.
func (cs canaries) findIn(text string, only ...string) []string {
	var found []string
	for input, v := range cs {
		if len(only) > 0 && !slices.Contains(only, input) {
			continue
		}
		for form, f := range testcluster.SecretForms(v) {
			if strings.Contains(text, f) {
				found = append(found, fmt.Sprintf("%s (%s)", input, form))
			}
		}
	}
	sort.Strings(found)
	return found
}

// firstLine is the first line of text holding a canary in any form, cut to 400 bytes.
func (cs canaries) firstLine(text string) string {
	for _, l := range strings.Split(text, "\n") {
		if len(cs.findIn(l)) > 0 {
			if len(l) > 400 {
				l = l[:400] + "..."
			}
			return l
		}
	}
	return ""
}

func reversed(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// plainJSON keeps of v only what sens (a "sensitive_values" structure of `show -json`)
// does not mark sensitive.
func plainJSON(v, sens any) any {
	if b, ok := sens.(bool); ok && b {
		return nil
	}
	switch x := v.(type) {
	case map[string]any:
		sm, _ := sens.(map[string]any)
		out := map[string]any{}
		for k, vv := range x {
			out[k] = plainJSON(vv, sm[k])
		}
		return out
	case []any:
		sl, _ := sens.([]any)
		out := make([]any, len(x))
		for i, vv := range x {
			var s any
			if i < len(sl) {
				s = sl[i]
			}
			out[i] = plainJSON(vv, s)
		}
		return out
	}
	return v
}

// plainShow is the text of everything `show -json` (of the state or of a saved plan)
// does not mark sensitive: resource values, resource changes, outputs and, for a plan,
// the variables not declared sensitive (a plan file holds the values of the run's
// variables, as Terraform documents: it is as secret as the state).
func plainShow(t *testing.T, raw []byte, sensitiveVars []string) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse show -json: %v\n%s", err, raw)
	}
	var keep []any
	module := func(m any) {
		rm, _ := m.(map[string]any)
		for _, r := range jsonList(rm["resources"]) {
			rr, _ := r.(map[string]any)
			keep = append(keep, rr["address"], plainJSON(rr["values"], rr["sensitive_values"]))
		}
		outs, _ := rm["outputs"].(map[string]any)
		for name, o := range outs {
			oo, _ := o.(map[string]any)
			if s, _ := oo["sensitive"].(bool); !s {
				keep = append(keep, name, oo["value"])
			}
		}
	}
	for _, key := range []string{"values", "planned_values"} {
		if vs, ok := doc[key].(map[string]any); ok {
			module(vs["root_module"])
			module(vs)
		}
	}
	if ps, ok := doc["prior_state"].(map[string]any); ok {
		if vs, ok := ps["values"].(map[string]any); ok {
			module(vs["root_module"])
			module(vs)
		}
	}
	for _, rc := range jsonList(doc["resource_changes"]) {
		m, _ := rc.(map[string]any)
		ch, _ := m["change"].(map[string]any)
		keep = append(keep, plainJSON(ch["before"], ch["before_sensitive"]), plainJSON(ch["after"], ch["after_sensitive"]))
	}
	if ocs, ok := doc["output_changes"].(map[string]any); ok {
		for _, oc := range ocs {
			ch, _ := oc.(map[string]any)
			keep = append(keep, plainJSON(ch["before"], ch["before_sensitive"]), plainJSON(ch["after"], ch["after_sensitive"]))
		}
	}
	if vars, ok := doc["variables"].(map[string]any); ok {
		for name, v := range vars {
			if !slices.Contains(sensitiveVars, name) {
				keep = append(keep, name, v)
			}
		}
	}
	b, err := json.Marshal(keep)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func jsonList(v any) []any {
	l, _ := v.([]any)
	return l
}

// namespaceMetadata is the kind, name, labels and annotations of every object in ns, of
// every namespaced resource type the API server serves.
func namespaceMetadata(t *testing.T, ns string) string {
	t.Helper()
	cfg := testcluster.RestConfig(t)
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lists, err := dc.ServerPreferredNamespacedResources()
	if err != nil && len(lists) == 0 {
		t.Fatalf("discover resources: %v", err)
	}
	var b strings.Builder
	objects := 0
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if !slices.Contains(r.Verbs, "list") || strings.Contains(r.Name, "/") {
				continue
			}
			items, err := dyn.Resource(gv.WithResource(r.Name)).Namespace(ns).List(context.Background(), metav1.ListOptions{})
			if err != nil {
				continue // e.g. metrics that are listed but not served
			}
			for _, o := range items.Items {
				objects++
				meta, _ := json.Marshal(map[string]any{"labels": o.GetLabels(), "annotations": o.GetAnnotations()})
				fmt.Fprintf(&b, "%s %s %s\n", r.Name, o.GetName(), meta)
			}
		}
	}
	t.Logf("labels and annotations of %d objects in %s read", objects, ns)
	return b.String()
}

// TestAccRunSecrets_CanaryNowhere plants a canary in every secret input of a run at once
// (job.secret_variables, secret_files, credentials_json, source.password over HTTP basic
// auth over HTTPS, target.content, a secret output the runner writes to SECRET_OUTPUTS_FILE, returned
// with secret_outputs_as_json, and the write-only secret_variables_wo), with a runner that prints every secret it gets in all
// four forms and reports one in its error file. A succeeding apply, a failing apply and a
// destroy run with TF_LOG=trace; no form of any canary may appear in the trace log, the
// CLI's output and diagnostics, the saved plan's or the state's non-sensitive values, the
// Job and pod specs, ConfigMaps and events, or the labels and annotations of any object
// of the namespace; the write-only one in no part of the plan or state at all.
func TestAccRunSecrets_CanaryNowhere(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	base := "cnry" + hex.EncodeToString(b)
	cs := canaries{
		"secret variable":   base + `-var/"q"&x=1+y <ok>`,
		"secret output":     reversed(base + "-seed"), // the runner reverses SEED
		"secret file":       base + "-file",
		"credential":        base + "-cred+/=",
		"git password":      base + "-git",
		"target content":    base + "-target",
		"write-only secret": base + "-wo",
	}
	// Every value comes from the environment, so the configuration (shown in the trace
	// log and the plan's configuration) holds none.
	vars := map[string]string{
		"sv": cs["secret variable"], "seed": reversed(cs["secret output"]), "sf": cs["secret file"],
		"cred": cs["credential"], "gitpw": cs["git password"], "target": cs["target content"], "wo": cs["write-only secret"],
	}
	logPath := filepath.Join(t.TempDir(), "trace.log")
	c.env = append(c.env, "TF_LOG=trace", "TF_LOG_PATH="+logPath)
	for k, v := range vars {
		c.env = append(c.env, "TF_VAR_"+k+"="+v)
	}
	root := t.TempDir()
	commit := gitRepo(t, root, "infra")
	commit(map[string]string{"stack/main.sh": "echo hi\n"})
	// HTTPS: the provider refuses a password over plain http://.
	gitURL := testcluster.GitServerTLSWithPassword(t, root, "git", cs["git password"])
	e.sidecar = testcluster.TrustingSidecarImage(t)

	config := func(mainInputs, extra string) string {
		return e.providerBlock() + fmt.Sprintf(`
variable "sv" {
  type      = string
  sensitive = true
}
variable "seed" {
  type      = string
  sensitive = true
}
variable "sf" {
  type      = string
  sensitive = true
}
variable "cred" {
  type      = string
  sensitive = true
}
variable "gitpw" {
  type      = string
  sensitive = true
}
variable "target" {
  type      = string
  sensitive = true
}
variable "wo" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "containerdriver_run" "main" {
  %s
  secret_files = { "s.txt" = var.sf }
  source = {
    url      = "%s/infra.git"
    ref      = "refs/heads/main"
    path     = "stack"
    username = "git"
    password = var.gitpw
  }
  credentials_json    = jsonencode({ aws = { secret = var.cred } })
  credentials_config  = { environment = { CRED = "aws.secret" } }
  secret_variables_wo = { WO = var.wo }
  secrets_wo_version  = "1"
  secret_outputs_as_json = true
  inputs              = %s
  keep_job            = true
}

resource "containerdriver_run" "deployer" {
  %s
  contract = "container-deployer"
  target = {
    manifest = jsonencode({ kind = "Target", spec = { type = "x" } })
    content  = var.target
  }
  inputs   = { hide_target = true, print_forms = ["target"] }
  keep_job = true
}

output "outputs" {
  value = [containerdriver_run.main.outputs, containerdriver_run.deployer.outputs, containerdriver_run.main.runner_status]
}
output "secret_outputs" {
  value     = jsondecode(containerdriver_run.main.secret_outputs_json)
  sensitive = true
}
%s
`, e.jobBlock(`secret_variables = { SECRET_VAR = var.sv, SEED = var.seed }`), gitURL, mainInputs, e.jobBlock(""), extra)
	}
	const printForms = `print_forms = ["env:SECRET_VAR", "env:SEED", "env:CRED", "env:WO", "file:s.txt"]`
	sensitiveVars := []string{"sv", "seed", "sf", "cred", "gitpw", "target"}
	var cliOut strings.Builder
	step := func(name string, want bool, args ...string) string {
		t.Helper()
		out, ok := c.run(args...)
		cliOut.WriteString(out)
		if ok != want {
			t.Fatalf("%s: succeeded %v, want %v:\n%s", name, ok, want, out)
		}
		return out
	}
	show := func(args ...string) []byte {
		t.Helper()
		out, err := c.cmd(append([]string{"show", "-json"}, args...)...).Output()
		if err != nil {
			t.Fatalf("show -json %v: %v", args, err)
		}
		return out
	}
	check := func(where, text string, only ...string) {
		t.Helper()
		if found := cs.findIn(text, only...); len(found) > 0 {
			t.Errorf("%s holds %s; first such line: %s", where, strings.Join(found, ", "), cs.firstLine(text))
		}
	}
	stateFile := func() string {
		b, err := os.ReadFile(filepath.Join(c.dir, "terraform.tfstate"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// 1. A saved plan, then a succeeding apply.
	c.write(config(`{ `+printForms+`, secret_outputs_reversed_env = { token = "SEED" } }`, ""))
	step("plan", true, "plan", "-out=create.tfplan")
	plan := show("create.tfplan")
	check("the saved plan's non-sensitive values (show -json)", plainShow(t, plan, sensitiveVars))
	check("the saved plan (show -json, all of it)", string(plan), "write-only secret")
	step("succeeding apply", true, "apply", "-auto-approve")

	state := show()
	check("the state's non-sensitive values (show -json)", plainShow(t, state, nil))
	check("the state file", stateFile(), "write-only secret")
	// The test sees what it looks for: sensitive values are in the state in clear, and the
	// secret output is the one the runner derived from SEED.
	for _, input := range []string{"secret variable", "secret output", "credential"} {
		if len(cs.findIn(stateFile(), input)) == 0 {
			t.Errorf("the state file does not hold the (sensitive) %s in any form: the test does not see what it looks for", input)
		}
	}
	jobs := e.jobs(t, "create")
	if len(jobs) != 2 {
		t.Fatalf("%d kept create Jobs, want 2 (main and deployer)", len(jobs))
	}
	var runnerLogs string
	for _, j := range jobs {
		l, err := e.runnerLog(j)
		if err != nil {
			t.Fatal(err)
		}
		runnerLogs += l
	}
	// What the runners printed, unmasked, from the pods: every secret reached them.
	for _, input := range []string{"secret variable", "secret file", "credential", "target content", "write-only secret"} {
		if !strings.Contains(runnerLogs, " raw="+cs[input]+"\n") {
			t.Errorf("the runners' own logs do not show the %s as written: it did not reach them", input)
		}
	}

	// 2. A failing apply: the runners print their secrets again and put one in their error
	// file: an update that fails (the state keeps the last success) and a create that fails
	// (recorded, tainted, with runner_status).
	const failing = `fail = "failing as asked:", fail_with_env = "SECRET_VAR", fail_on = "create"`
	c.write(config(`{ `+printForms+`, `+failing+` }`, fmt.Sprintf(`
resource "containerdriver_run" "failing" {
  %s
  secret_files        = { "s.txt" = var.sf }
  secret_variables_wo = { WO = var.wo }
  secrets_wo_version  = "1"
  inputs              = { %s, %s }
  keep_job            = true
}
output "failing_status" {
  value = containerdriver_run.failing.runner_status
}
`, e.jobBlock(`secret_variables = { SECRET_VAR = var.sv, SEED = var.seed }`), printForms, failing)))
	failed := step("failing apply", false, "apply", "-auto-approve")
	check("the failing apply's diagnostics", failed)
	if !regexp.MustCompile(`failing as asked:\s+\(sensitive value\)`).MatchString(failed) {
		t.Errorf("the failing apply's diagnostics do not show the runner's error file, masked:\n%s", failed)
	}
	afterFailure := show()
	check("the state's non-sensitive values after the failed apply (show -json)", plainShow(t, afterFailure, nil))
	if !strings.Contains(string(afterFailure), `"containerdriver_run.failing"`) || !strings.Contains(string(afterFailure), `"exit_code":3`) {
		t.Errorf("the failed create is not recorded with its runner_status:\n%s", afterFailure)
	}
	check("the state file after the failed apply", stateFile(), "write-only secret")

	// What anyone who may read Jobs, pods, ConfigMaps and events sees.
	view := testcluster.ReadersView(t, e.client, e.ns)
	if view.Jobs != 4 || view.Pods != 4 {
		t.Errorf("kept %d Jobs and %d pods, want 4 of each (two creates, a failed update, a failed create)", view.Jobs, view.Pods)
	}
	for _, p := range view.Places {
		check(p.Where, p.Text)
	}
	check("the labels and annotations of the namespace's objects", namespaceMetadata(t, e.ns))

	// 3. Destroy (the write-only secret comes from the Secret kept for it).
	c.write(config(`{ `+printForms+` }`, ""))
	step("destroy", true, "destroy", "-auto-approve")
	check("the state file after destroy", stateFile(), "write-only secret")

	check("the CLI's output (plan, applies, destroy)", cliOut.String())
	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	trace := string(raw)
	t.Logf("trace log: %d bytes", len(trace))
	check("the TF_LOG=trace log", trace)
	// The trace log saw the runners' log lines (masked), so it was looked at where the
	// secrets went by.
	for _, want := range []string{`env:WO base64=\(sensitive value\)`, `target raw=\(sensitive value\)`, `file:s.txt json="?\(sensitive value\)`} {
		if !regexp.MustCompile(want).MatchString(trace) {
			t.Errorf("the trace log does not hold the runner's line %s", want)
		}
	}
}

// TestAccRunSecrets_WriteOnlyForms: source.password_wo (HTTP basic auth over HTTPS
// against a server that refuses any other password), credentials_json_wo and
// target.content_wo reach git-init and the runners at create and again at destroy, from
// the Secret kept for it; no form of any of them is in the saved plan or the state
// file, all of it, at any step. Run by terraform and by OpenTofu.
func TestAccRunSecrets_WriteOnlyForms(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	base := "wocn" + hex.EncodeToString(b)
	cs := canaries{
		"source.password_wo":  base + "-git",
		"credentials_json_wo": base + "-cred+/=",
		"target.content_wo":   base + "-target",
	}
	for k, v := range map[string]string{"gitpw": cs["source.password_wo"], "cred": cs["credentials_json_wo"], "target": cs["target.content_wo"]} {
		c.env = append(c.env, "TF_VAR_"+k+"="+v)
	}
	root := t.TempDir()
	commit := gitRepo(t, root, "infra")(map[string]string{"stack/main.sh": "echo wo\n"})
	gitURL := testcluster.GitServerTLSWithPassword(t, root, "git", cs["source.password_wo"])
	e.sidecar = testcluster.TrustingSidecarImage(t)
	var vars strings.Builder
	for _, v := range []string{"gitpw", "cred", "target"} {
		fmt.Fprintf(&vars, "variable %q {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\n", v)
	}
	config := e.providerBlock() + vars.String() + fmt.Sprintf(`
resource "containerdriver_run" "main" {
  %s
  source = {
    url         = "%s/infra.git"
    ref         = "refs/heads/main"
    path        = "stack"
    username    = "git"
    password_wo = var.gitpw
  }
  credentials_json_wo = jsonencode({ aws = { secret = var.cred } })
  credentials_config  = { environment = { CRED = "aws.secret" } }
  secrets_wo_version  = "1"
  inputs   = { print_forms = ["env:CRED"], echo_files = ["main.sh"] }
  keep_job = true
}

resource "containerdriver_run" "deployer" {
  %s
  contract = "container-deployer"
  target = {
    manifest   = jsonencode({ kind = "Target", spec = { type = "x" } })
    content_wo = var.target
  }
  secrets_wo_version = "1"
  inputs   = { hide_target = true, print_forms = ["target"] }
  keep_job = true
}
`, e.jobBlock(""), gitURL, e.jobBlock(""))
	c.write(config)
	check := func(where, text string) {
		t.Helper()
		if found := cs.findIn(text); len(found) > 0 {
			t.Errorf("%s holds %s; first such line: %s", where, strings.Join(found, ", "), cs.firstLine(text))
		}
	}
	stateFile := func() string {
		b, err := os.ReadFile(filepath.Join(c.dir, "terraform.tfstate"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// runnersGot checks the runners' own (unmasked) logs of the kept Jobs of action.
	runnersGot := func(action string, want int) {
		t.Helper()
		jobs := e.jobs(t, action)
		if len(jobs) != want {
			t.Fatalf("%d kept %s Jobs, want %d", len(jobs), action, want)
		}
		var logs string
		for _, j := range jobs {
			l, err := e.runnerLog(j)
			if err != nil {
				t.Fatal(err)
			}
			logs += l
		}
		for _, want := range []string{"env:CRED raw=" + cs["credentials_json_wo"] + "\n", "target raw=" + cs["target.content_wo"] + "\n"} {
			if !strings.Contains(logs, want) {
				t.Errorf("the %s runners did not get %q:\n%s", action, want, logs)
			}
		}
	}

	c.must("plan", "plan", "-out=create.tfplan")
	plan, err := c.cmd("show", "-json", "create.tfplan").Output()
	if err != nil {
		t.Fatalf("show -json create.tfplan: %v", err)
	}
	check("the saved plan (show -json, all of it)", string(plan))
	if !strings.Contains(string(plan), `"password_wo"`) && !strings.Contains(string(plan), `"credentials_json_wo"`) {
		t.Errorf("the saved plan does not name the write-only attributes: the test does not look where they would be:\n%.2000s", plan)
	}
	c.must("apply", "apply", "-auto-approve")
	check("the state file", stateFile())
	state, err := c.cmd("show", "-json").Output()
	if err != nil {
		t.Fatalf("show -json: %v", err)
	}
	check("the state (show -json)", string(state))
	// git-init cloned with the write-only password (the server takes no other).
	if !strings.Contains(string(state), `"echo wo\n"`) || !strings.Contains(string(state), commit) {
		t.Errorf("the checkout with source.password_wo is not in the outputs (want main.sh and commit %s):\n%.3000s", commit, state)
	}
	runnersGot("create", 2)
	kept, err := e.client.CoreV1().Secrets(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "containerdriver.io/role=write-only-secrets"})
	if err != nil {
		t.Fatal(err)
	}
	if len(kept.Items) != 2 {
		t.Errorf("%d Secrets keep the write-only values, want 2 (one per run)", len(kept.Items))
	}

	// A create that fails after its runner ran is recorded (tainted) without its
	// write-only values, which the provider nulls itself in that response.
	c.write(config + fmt.Sprintf(`
resource "containerdriver_run" "failing" {
  %s
  source = {
    url         = "%s/infra.git"
    username    = "git"
    password_wo = var.gitpw
  }
  credentials_json_wo = jsonencode({ aws = { secret = var.cred } })
  credentials_config  = { environment = { CRED = "aws.secret" } }
  secrets_wo_version  = "1"
  inputs   = { print_forms = ["env:CRED"], fail = "failing as asked", fail_on = "create" }
  keep_job = true
}
`, e.jobBlock(""), gitURL))
	if out, ok := c.run("apply", "-auto-approve"); ok {
		t.Fatalf("the failing create succeeded:\n%s", out)
	} else if !strings.Contains(out, "failing as asked") {
		t.Errorf("the failing apply does not show the runner's error:\n%s", out)
	}
	check("the state file after a failed create", stateFile())
	if !strings.Contains(stateFile(), `"containerdriver_run"`) || !strings.Contains(stateFile(), `"tainted"`) {
		t.Errorf("the failed create is not recorded, tainted, in the state:\n%.3000s", stateFile())
	}

	// Destroy checks out the commit again with the kept password and gives the runners
	// the kept credentials and target content.
	c.must("destroy", "destroy", "-auto-approve")
	runnersGot("destroy", 3)
	check("the state file after destroy", stateFile())
	kept, err = e.client.CoreV1().Secrets(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "containerdriver.io/role=write-only-secrets"})
	if err != nil {
		t.Fatal(err)
	}
	if len(kept.Items) != 0 {
		t.Errorf("%d write-only Secrets left after destroy", len(kept.Items))
	}
}
