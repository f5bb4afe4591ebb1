package containerdriver

import (
	"encoding/base64"
	"strings"
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

func TestRedactor(t *testing.T) {
	s := minimalSpec()
	s.Job.SecretVariables = map[string]string{"T": "tok-123456", "SHORT": "1"}
	s.SecretFiles = map[string]string{"key.pem": "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQ\n-----END KEY-----\n"}
	s.Source = &SourceSpec{URL: "https://h/r.git", Password: "git-pa$$/word"}
	s.Credentials = map[string]any{"a": map[string]any{"b": "deep-secret", "region": "eu"}, "list": []any{"in-a-list"}}
	s.CredentialsConfig = &CredentialsConfig{Environment: map[string]string{"ALL": "*"}}
	s.Contract, s.Target = ContractContainerDeployer, &TargetSpec{Content: `{"kubeconfig":"target-secret"}`}
	r := newRedactor(s).withSecretOutputs(map[string]any{"out": "secret-output-value", "n": map[string]any{"deep": "nested-output"}})
	b64 := func(v string) string { return base64.StdEncoding.EncodeToString([]byte(v)) }
	for _, c := range []struct{ name, in, want string }{
		{"raw", "token tok-123456 and deep-secret, count 1", "token (sensitive value) and (sensitive value), count 1"},
		{"short credential strings are left alone", "region eu", "region eu"},
		{"string in a list", "x in-a-list y", "x (sensitive value) y"},
		{"base64 std", "b64 " + b64("tok-123456"), "b64 (sensitive value)"},
		{"base64 url, unpadded", "b64 " + base64.RawURLEncoding.EncodeToString([]byte("git-pa$$/word")), "b64 (sensitive value)"},
		{"base64 url", "u " + base64.URLEncoding.EncodeToString([]byte("git-pa$$/word")), "u (sensitive value)"},
		{"json-escaped", `{"v":"` + strings.ReplaceAll(`{"kubeconfig":"target-secret"}`, `"`, `\"`) + `"}`, `{"v":"(sensitive value)"}`},
		{"url-encoded (query)", "https://h/?p=git-pa%24%24%2Fword", "https://h/?p=(sensitive value)"},
		{"url-encoded (path)", "https://h/git-pa$$%2Fword/x", "https://h/(sensitive value)/x"},
		{"a line of a multi-line secret", "saw AAAAB3NzaC1yc2EAAAADAQABAAABAQ in the log", "saw (sensitive value) in the log"},
		{"target content", `{"kubeconfig":"target-secret"}`, "(sensitive value)"},
		{"the whole credentials as JSON (credentials_config *)", `{"a":{"b":"deep-secret","region":"eu"},"list":["in-a-list"]}`, "(sensitive value)"},
		{"secret output", "got secret-output-value and nested-output", "got (sensitive value) and (sensitive value)"},
		{"git password", "git-pa$$/word", "(sensitive value)"},
	} {
		if got := r.mask(c.in); got != c.want {
			t.Errorf("%s: mask(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}
