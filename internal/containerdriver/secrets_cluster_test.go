package containerdriver_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

// A runner that prints every secret it gets, raw, base64, JSON and URL-encoded, succeeds
// and then fails: no form of any secret input appears in what the executor reports (log
// lines, events, the run error and its log tails, the runner's status) nor in what anyone
// who may read Jobs, pods, ConfigMaps and events sees (specs, labels, annotations).
func TestAccExecutor_SecretsStaySecret(t *testing.T) {
	t.Parallel()
	e := setup(t)
	repoURL, _ := serveGitRepo(t, map[string]string{"infra/main.sh": "echo hi\n"})
	canaries := map[string]string{
		"secret variable": `var-C4NARY/"q"&x=1+y`,
		"secret file":     "file-C4NARY-7a1c\n",
		"credential":      "cred-C4NARY+/=9",
		"git password":    "git-pass-123", // what serveGitRepo's server asks for
	}
	spec := e.spec(t, map[string]any{"print_forms": []string{"env:SECRET_VAR", "env:CRED", "file:s.txt"}})
	spec.KeepResources = true // to read the Job, the pod and the events afterwards
	spec.Job.SecretVariables = map[string]string{"SECRET_VAR": canaries["secret variable"]}
	spec.SecretFiles = map[string]string{"s.txt": canaries["secret file"]}
	spec.Credentials = map[string]any{"a": map[string]any{"b": canaries["credential"]}}
	spec.CredentialsConfig = &cd.CredentialsConfig{Environment: map[string]string{"CRED": "a.b"}}
	spec.Source = &cd.SourceSpec{URL: repoURL, Ref: "refs/heads/main", Path: "infra", Password: canaries["git password"]}

	check := func(where, text string) {
		t.Helper()
		for name, v := range canaries {
			for _, f := range testcluster.SecretForms(v) {
				if strings.Contains(text, f) {
					t.Errorf("the %s (as %q) is in %s", name, f, where)
				}
			}
		}
	}

	res, rec, err := e.run(t, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, detail(err))
	}
	check("the streamed log and events of a succeeding run", rec.all())
	if !strings.Contains(rec.all(), "env:SECRET_VAR base64=(sensitive value)") {
		t.Errorf("the runner's log lines did not come through masked:\n%s", rec.all())
	}
	check("runner_status.message", res.Runner.Message)
	outs, _ := json.Marshal(res.Outputs)
	check("the outputs", string(outs))

	spec.Inputs.(map[string]any)["fail"] = "failing as asked"
	_, rec, err = e.run(t, spec, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) {
		t.Fatalf("a failing run returned %v, want a RunError", err)
	}
	check("the failing run's error", err.Error()+"\n"+re.Detail())
	check("the streamed log and events of a failing run", rec.all())
	if !strings.Contains(re.Detail(), "raw=(sensitive value)") {
		t.Errorf("the failing run's log tail is not in its error, masked:\n%s", re.Detail())
	}

	// What readers of Jobs, pods, ConfigMaps and events see.
	view := testcluster.ReadersView(t, e.c, e.ns)
	if view.Jobs != 2 || view.Pods != 2 {
		t.Errorf("kept %d Jobs and %d pods, want 2 of each", view.Jobs, view.Pods)
	}
	for _, p := range view.Places {
		check(p.Where, p.Text)
	}
}
