package containerdriver_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

// env is what every cluster test of the executor needs: a client, a fresh restricted
// namespace with a service account that has the specification's permissions, the sidecar
// image and the test runner image.
type env struct {
	c       kubernetes.Interface
	ns      string
	sidecar string
	runner  string
	// seen records every Job and Pod of ns from the start of the test, even those a run
	// deleted again.
	seen *testcluster.Recorder
}

func setup(t *testing.T) *env {
	t.Helper()
	c := testcluster.Client(t)
	e := &env{c: c, sidecar: testcluster.SidecarImage(t), runner: testcluster.RunnerImage(t)}
	e.ns = testcluster.Namespace(t, c)
	e.seen = testcluster.Record(t, c, e.ns)
	return e
}

func (e *env) spec(t *testing.T, inputs map[string]any) *cd.RunSpec {
	return &cd.RunSpec{
		RunID: fmt.Sprintf("%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano()%100000),
		Job: cd.JobSpec{
			Image: e.runner, Command: []string{"/testrunner"}, SharedDirectory: "/workspace",
			ServiceAccount: "runner", Namespace: e.ns,
		},
		Inputs:       inputs,
		SidecarImage: e.sidecar,
	}
}

type recorder struct {
	mu     sync.Mutex
	events []string
	lines  []string
}

func (r *recorder) Event(m string) { r.mu.Lock(); r.events = append(r.events, m); r.mu.Unlock() }
func (r *recorder) LogLine(c, l string) {
	r.mu.Lock()
	r.lines = append(r.lines, c+": "+l)
	r.mu.Unlock()
}
func (r *recorder) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, "\n") + "\n" + strings.Join(r.lines, "\n")
}

func (e *env) run(t *testing.T, spec *cd.RunSpec, action string) (*cd.Result, *recorder, error) {
	t.Helper()
	rec := &recorder{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := (&cd.Executor{Client: e.c, Observer: rec}).Run(ctx, spec, action)
	t.Logf("%s run took %v", action, time.Since(start).Round(time.Millisecond))
	return res, rec, err
}

// assertEmpty checks that a run left nothing behind in its namespace.
func (e *env) assertEmpty(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: contract.LabelManagedBy + "=" + contract.ManagedByValue}
	// A listing that fails must not read as an empty namespace.
	jobs, err := e.c.BatchV1().Jobs(e.ns).List(ctx, sel)
	if err != nil {
		t.Fatalf("list the jobs left in %s: %v", e.ns, err)
	}
	secrets, err := e.c.CoreV1().Secrets(e.ns).List(ctx, sel)
	if err != nil {
		t.Fatalf("list the secrets left in %s: %v", e.ns, err)
	}
	cms, err := e.c.CoreV1().ConfigMaps(e.ns).List(ctx, sel)
	if err != nil {
		t.Fatalf("list the configmaps left in %s: %v", e.ns, err)
	}
	pods, err := e.c.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list the pods left in %s: %v", e.ns, err)
	}
	var left []string
	for _, j := range jobs.Items {
		left = append(left, "job/"+j.Name)
	}
	for _, s := range secrets.Items {
		left = append(left, "secret/"+s.Name)
	}
	for _, c := range cms.Items {
		left = append(left, "configmap/"+c.Name)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			left = append(left, "pod/"+p.Name)
		}
	}
	if len(left) > 0 {
		t.Errorf("left behind in %s: %v", e.ns, left)
	}
}

func TestAccExecutor_CreateDestroyOutputs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	spec := e.spec(t, map[string]any{
		"outputs":        map[string]any{"bucket": "b-1", "nested": map[string]any{"n": 1}},
		"secret_outputs": map[string]any{"password": "pw-very-secret"},
		"echo_env":       []string{"ACTION", "SCRIPTS_DIRECTORY", "OUTPUTS_FILE", "PLAIN", "TOKEN", "CONTAINERDRIVER_RUN_ID"},
		"echo_files":     []string{"main.tf", "/etc/runner/conf.yaml", "keys/id", "creds.json"},
		"print":          []string{"hello from the runner"},
	})
	spec.Job.Variables = map[string]string{"PLAIN": "plain-value"}
	spec.Job.SecretVariables = map[string]string{"TOKEN": "tok-abcdef"}
	spec.Files = map[string]string{"main.tf": "resource x {}", "/etc/runner/conf.yaml": "a: 1"}
	spec.SecretFiles = map[string]string{"keys/id": "KEY-MATERIAL"}
	spec.Credentials = map[string]any{"aws": map[string]any{"key": "AKIAX"}}
	spec.CredentialsConfig = &cd.CredentialsConfig{Environment: map[string]string{"AWS_KEY": "aws.key"}, File: "creds.json"}
	spec.Inputs.(map[string]any)["echo_env"] = append(spec.Inputs.(map[string]any)["echo_env"].([]string), "AWS_KEY")

	res, rec, err := e.run(t, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, detail(err))
	}
	want := map[string]any{
		"action": "create", "bucket": "b-1", "uid": "1000",
		"env_ACTION": "create", "env_SCRIPTS_DIRECTORY": "/workspace", "env_OUTPUTS_FILE": "/workspace/outputs.json",
		"env_PLAIN": "plain-value", "env_TOKEN": "tok-abcdef", "env_CONTAINERDRIVER_RUN_ID": spec.RunID, "env_AWS_KEY": "AKIAX",
		"file_/workspace/main.tf": "resource x {}", "file_/etc/runner/conf.yaml": "a: 1",
		"file_/workspace/keys/id": "KEY-MATERIAL", "file_/workspace/creds.json": `{"aws":{"key":"AKIAX"}}`,
	}
	for k, v := range want {
		if fmt.Sprint(res.Outputs[k]) != fmt.Sprint(v) {
			t.Errorf("outputs[%q] = %v, want %v", k, res.Outputs[k], v)
		}
	}
	if n, ok := res.Outputs["nested"].(map[string]any); !ok || fmt.Sprint(n["n"]) != "1" {
		t.Errorf("nested output = %#v", res.Outputs["nested"])
	}
	if res.SecretOutputs["password"] != "pw-very-secret" {
		t.Errorf("secret outputs = %v", res.SecretOutputs)
	}
	if res.ExitCode != 0 || res.ImageID == "" {
		t.Errorf("exit code %d, image id %q", res.ExitCode, res.ImageID)
	}
	log := rec.all()
	if !strings.Contains(log, "runner: hello from the runner") {
		t.Errorf("runner log line not streamed:\n%s", log)
	}
	if strings.Contains(log, "tok-abcdef") || strings.Contains(log, "pw-very-secret") {
		t.Errorf("a secret reached the observer:\n%s", log)
	}
	e.assertEmpty(t)

	res, _, err = e.run(t, spec, contract.ActionDestroy)
	if err != nil {
		t.Fatalf("destroy: %v\n%s", err, detail(err))
	}
	if res.Outputs["action"] != "destroy" {
		t.Errorf("destroy ran with ACTION=%v", res.Outputs["action"])
	}
	e.assertEmpty(t)
}

func TestAccExecutor_FailingRunner(t *testing.T) {
	t.Parallel()
	e := setup(t)
	spec := e.spec(t, map[string]any{
		"fail": "bucket quota exceeded (token tok-zzzzzz)", "exit_code": 7,
		"print": []string{"step 1 ok", "step 2 broke"},
	})
	spec.Job.SecretVariables = map[string]string{"TOKEN": "tok-zzzzzz"}
	_, _, err := e.run(t, spec, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a RunError", err)
	}
	if re.Container != "runner" || re.ExitCode == nil || *re.ExitCode != 7 {
		t.Errorf("container %q exit %v", re.Container, re.ExitCode)
	}
	if !strings.Contains(re.ErrorFile, "bucket quota exceeded") {
		t.Errorf("error file = %q", re.ErrorFile)
	}
	if !strings.Contains(re.Logs["runner"], "step 2 broke") {
		t.Errorf("runner log tail = %q", re.Logs["runner"])
	}
	if d := re.Detail(); strings.Contains(d, "tok-zzzzzz") || !strings.Contains(d, re.JobName) {
		t.Errorf("detail leaks a secret or lacks the job name:\n%s", d)
	}
	e.assertEmpty(t)
}

func TestAccExecutor_FailFastMissingImage(t *testing.T) {
	t.Parallel()
	e := setup(t)
	spec := e.spec(t, nil)
	spec.Job.Image = "containerdriver.local/does-not-exist:1"
	start := time.Now()
	_, _, err := e.run(t, spec, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Container != "runner" || (re.Reason != "ErrImagePull" && re.Reason != "ImagePullBackOff") {
		t.Fatalf("got %v, want an image pull RunError on the runner", err)
	}
	// A pull error, not the operation's deadline (which would say Timeout), ended the run:
	// that is failing fast. The duration is information only.
	t.Logf("failed after %v", time.Since(start).Round(time.Millisecond))
	e.assertEmpty(t)
}

func TestAccExecutor_MissingServiceAccount(t *testing.T) {
	t.Parallel()
	e := setup(t)
	spec := e.spec(t, nil)
	spec.Job.ServiceAccount = "nobody"
	_, _, err := e.run(t, spec, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Reason != "ServiceAccountNotFound" || !strings.Contains(re.Message, `"nobody"`) {
		t.Fatalf("got %v", err)
	}
	spec.Job.Namespace = "no-such-namespace-x"
	_, _, err = e.run(t, spec, contract.ActionCreate)
	if !errors.As(err, &re) || re.Reason != "NamespaceNotFound" {
		t.Fatalf("got %v", err)
	}
	e.assertEmpty(t)
}

func TestAccExecutor_PreChecksDenied(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	if _, err := e.c.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "powerless"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	spec := e.spec(t, nil)
	spec.Job.ServiceAccount = "powerless"
	_, _, err := e.run(t, spec, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Container != "pre-checks" {
		t.Fatalf("got %v, want pre-checks to fail", err)
	}
	if d := re.Detail(); !strings.Contains(d, "configmaps") && !strings.Contains(d, "secrets") {
		t.Errorf("pre-checks did not name the missing permission:\n%s", d)
	}
	e.assertEmpty(t)
}

func TestAccExecutor_PodTemplate(t *testing.T) {
	t.Parallel()
	e := setup(t)
	spec := e.spec(t, map[string]any{"echo_env": []string{"POD_TEMPLATE_OK"}})
	spec.Job.PodTemplates = []string{
		"metadata:\n  labels:\n    team: platform\nspec:\n  containers:\n  - name: runner\n    resources:\n      limits:\n        memory: 1536Mi\n",
	}
	res, _, err := e.run(t, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, detail(err))
	}
	if res.Outputs["action"] != "create" {
		t.Errorf("outputs = %v", res.Outputs)
	}
	// A forbidden field is refused before anything reaches the cluster.
	bad := e.spec(t, nil)
	bad.Job.PodTemplates = []string{"spec:\n  containers:\n  - name: runner\n    image: evil.local/x:1\n"}
	_, _, err = e.run(t, bad, contract.ActionCreate)
	var verrs cd.ValidationErrors
	if !errors.As(err, &verrs) || verrs[0].Path.String() != "job.pod_template" {
		t.Fatalf("got %v", err)
	}
	e.assertEmpty(t)
}

func TestAccExecutor_BigAndInvalidOutputs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	spec := e.spec(t, map[string]any{"big_output_bytes": 3 * 1024 * 1024})
	res, _, err := e.run(t, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("big outputs: %v\n%s", err, detail(err))
	}
	if s, _ := res.Outputs["big"].(string); len(s) != 3*1024*1024 {
		t.Errorf("big output came back with %d bytes", len(s))
	}
	bad := e.spec(t, map[string]any{"raw_outputs": "[1,2"})
	_, _, err = e.run(t, bad, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Reason != "InvalidOutputs" || !strings.Contains(re.Message, "OUTPUTS_FILE") || !strings.Contains(re.Message, "/workspace/outputs.json") {
		t.Fatalf("got %v, want InvalidOutputs naming OUTPUTS_FILE and the file", err)
	}
	e.assertEmpty(t)
}

func TestAccExecutor_ReattachAfterCrash(t *testing.T) {
	t.Parallel()
	e := setup(t)
	spec := e.spec(t, map[string]any{"sleep_seconds": 3, "outputs": map[string]any{"k": "v"}})
	built := e.crashedCaller(t, spec)
	res, rec, err := e.run(t, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("re-attach: %v\n%s", err, detail(err))
	}
	if res.Outputs["k"] != "v" || res.JobName != built.Job.Name {
		t.Errorf("result %v from job %s", res.Outputs, res.JobName)
	}
	if !strings.Contains(rec.all(), "re-attached") {
		t.Errorf("no re-attach reported:\n%s", rec.all())
	}
	// Every pod of the Job since the test began, including those cleanup deleted: the
	// crashed caller's Job ran once, and the re-attach must not have started another.
	if pods := e.seen.Pods(map[string]string{batchv1.JobNameLabel: built.Job.Name}); len(pods) != 1 {
		t.Errorf("pods of job %s: %v, want exactly one", built.Job.Name, pods)
	}
	if jobs := e.seen.Jobs(nil); len(jobs) != 1 {
		t.Errorf("jobs of the test: %v, want exactly one", jobs)
	}
	e.assertEmpty(t)
}

func TestAccExecutor_GitSource(t *testing.T) {
	t.Parallel()
	e := setup(t)
	repoURL, commit := serveGitRepo(t, map[string]string{"infra/main.tf": "# from git\n", "README": "top"})
	spec := e.spec(t, map[string]any{"echo_files": []string{"main.tf", "README"}})
	spec.Source = &cd.SourceSpec{URL: repoURL, Ref: "refs/heads/main", Path: "infra", Password: "git-pass-123"}
	res, _, err := e.run(t, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, detail(err))
	}
	if res.Outputs["file_/workspace/main.tf"] != "# from git\n" {
		t.Errorf("main.tf = %q", res.Outputs["file_/workspace/main.tf"])
	}
	if !strings.HasPrefix(fmt.Sprint(res.Outputs["file_/workspace/README"]), "ERROR") {
		t.Errorf("README outside source.path was copied: %v", res.Outputs["file_/workspace/README"])
	}
	if res.GitCommit != commit {
		t.Errorf("git commit %q, want %q", res.GitCommit, commit)
	}
	// Destroy at the recorded commit, as the provider does.
	spec.Source.Ref = res.GitCommit
	if _, _, err := e.run(t, spec, contract.ActionDestroy); err != nil {
		t.Fatalf("destroy at %s: %v\n%s", commit, err, detail(err))
	}
	// A wrong password fails in git-init, with an error that does not echo it.
	spec.Source.Password = "wrong-pass-456"
	_, _, err = e.run(t, spec, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Container != "git-init" {
		t.Fatalf("got %v, want git-init to fail", err)
	}
	if strings.Contains(re.Detail(), "wrong-pass-456") {
		t.Errorf("password leaked:\n%s", re.Detail())
	}
	e.assertEmpty(t)
}

// crashedCaller does what a caller that crashed right after starting a run leaves: the
// run's objects and its Job exist, and nobody waits for it.
func (e *env) crashedCaller(t *testing.T, spec *cd.RunSpec) *cd.JobObjects {
	t.Helper()
	built, err := cd.BuildJob(spec, contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, s := range built.Secrets {
		if _, err := e.c.CoreV1().Secrets(e.ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.c.BatchV1().Jobs(e.ns).Create(ctx, built.Job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return built
}

func detail(err error) string {
	var re *cd.RunError
	if errors.As(err, &re) {
		return re.Detail()
	}
	return ""
}

// serveGitRepo creates a repository and serves it with git http-backend on the node's
// address (pods cannot reach the host's loopback), behind basic auth git/git-pass-123.
func serveGitRepo(t *testing.T, files map[string]string) (url, commit string) {
	t.Helper()
	root := t.TempDir()
	commit = testcluster.GitRepo(t, root, "repo")(files)
	return testcluster.GitServerWithPassword(t, root, "git", "git-pass-123") + "/repo.git", commit
}

// grantState lets the test's service account keep state: get, list, update and delete
// Secrets on top of the specification's create.
func (e *env) grantState(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "state", Namespace: e.ns}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "update", "delete"}}}}
	if _, err := e.c.RbacV1().Roles(e.ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "state", Namespace: e.ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "state"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "runner", Namespace: e.ns}}}
	if _, err := e.c.RbacV1().RoleBindings(e.ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// stateEnv is a test's namespace whose runner may keep a state directory, and a spec of the
// test runner that counts its runs in it (inputs {count_state: true, v: 1}).
func stateEnv(t *testing.T) (*env, *cd.RunSpec) {
	t.Helper()
	e := setup(t)
	e.grantState(t)
	spec := e.spec(t, map[string]any{"count_state": true, "v": 1})
	spec.State = &cd.StateSpec{Path: "/state"}
	return e, spec
}

func TestAccExecutor_StateDirectory(t *testing.T) {
	t.Parallel()
	e, spec := stateEnv(t)
	count := func(step string, action string, want int) *cd.Result {
		t.Helper()
		res, _, err := e.run(t, spec, action)
		if err != nil {
			t.Fatalf("%s: %v\n%s", step, err, detail(err))
		}
		if fmt.Sprint(res.Outputs["count"]) != fmt.Sprint(want) {
			t.Fatalf("%s: count = %v, want %d", step, res.Outputs["count"], want)
		}
		if res.StateBytes == 0 {
			t.Errorf("%s: state size not reported", step)
		}
		return res
	}
	count("create", contract.ActionCreate, 1)
	spec.Inputs.(map[string]any)["v"] = 2 // an in-place update runs create again
	count("update", contract.ActionCreate, 2)
	count("destroy", contract.ActionDestroy, 2)
	secrets, err := e.c.CoreV1().Secrets(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "containerdriver.io/state-of"})
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items) != 0 {
		t.Errorf("state Secrets left after destroy: %d", len(secrets.Items))
	}
	e.assertEmpty(t)
}

func TestAccExecutor_StateSurvivesFailureAndIsLarge(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.grantState(t)
	spec := e.spec(t, map[string]any{"count_state": true, "state_blob_bytes": 1500 * 1024})
	spec.State = &cd.StateSpec{Path: "/state"}
	res, _, err := e.run(t, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, detail(err))
	}
	sha := res.Outputs["state_blob_sha256"]
	if res.StateBytes < 1500*1024 {
		t.Errorf("state of %d bytes for an incompressible 1.5 MB blob", res.StateBytes)
	}
	// A failing run still saves what it did.
	spec.Inputs = map[string]any{"count_state": true, "fail": "half applied"}
	if _, _, err := e.run(t, spec, contract.ActionCreate); err == nil {
		t.Fatal("failing run succeeded")
	}
	spec.Inputs = map[string]any{"count_state": true}
	res, _, err = e.run(t, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("after failure: %v\n%s", err, detail(err))
	}
	if fmt.Sprint(res.Outputs["count"]) != "3" {
		t.Errorf("count after a failed run = %v, want 3 (the failed run's increment kept)", res.Outputs["count"])
	}
	if res.Outputs["state_blob_sha256"] != sha {
		t.Errorf("state larger than one Secret did not round-trip: %v != %v", res.Outputs["state_blob_sha256"], sha)
	}
}

func TestAccExecutor_DeployerContract(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.grantState(t)
	spec := e.spec(t, map[string]any{"count_state": true, "bucket": "b-9"})
	spec.Contract = cd.ContractContainerDeployer
	spec.State = &cd.StateSpec{Path: "/state"}
	spec.Target = &cd.TargetSpec{Target: map[string]any{"kind": "Target", "spec": map[string]any{"type": "x"}}, Content: `{"foo":"bar"}`}
	spec.ComponentDescriptor = `{"meta":{"schemaVersion":"v2"},"components":[]}`
	spec.Content = map[string]string{"blueprint/blueprint.yaml": "kind: Blueprint"}
	res, _, err := e.run(t, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("reconcile: %v\n%s", err, detail(err))
	}
	want := map[string]string{
		"operation": "RECONCILE", "uid": "1000", "gid": "3000", "count": "1",
		"env_IMPORTS_PATH": "/var/run/containerdriver/inputs/inputs.json", "env_EXPORTS_PATH": "/workspace/exports",
		"env_TARGET_PATH": "/var/run/containerdriver/target/target.json", "env_STATE_PATH": "/state",
		"env_COMPONENT_DESCRIPTOR_PATH": "/var/run/containerdriver/component-descriptor/component-descriptor.json",
		"env_CONTENT_PATH":              "/var/run/containerdriver/content", "env_POD_NAMESPACE": e.ns,
		"target_file": `{"content":"{\"foo\":\"bar\"}","target":{"kind":"Target","spec":{"type":"x"}}}`,
	}
	for k, v := range want {
		if fmt.Sprint(res.Outputs[k]) != v {
			t.Errorf("exports[%q] = %v, want %v", k, res.Outputs[k], v)
		}
	}
	if !strings.HasPrefix(fmt.Sprint(res.Outputs["env_POD_NAME"]), res.JobName) {
		t.Errorf("POD_NAME = %v", res.Outputs["env_POD_NAME"])
	}
	if res.Runner.State != "terminated" || res.Runner.Reason != "Completed" || res.Runner.ImageID == "" {
		t.Errorf("runner status %+v", res.Runner)
	}
	res, _, err = e.run(t, spec, contract.ActionDestroy)
	if err != nil {
		t.Fatalf("delete: %v\n%s", err, detail(err))
	}
	if res.Outputs["operation"] != "DELETE" || fmt.Sprint(res.Outputs["count"]) != "1" {
		t.Errorf("delete exports %v", res.Outputs)
	}
	e.assertEmpty(t)
}

func TestAccExecutor_KeepAndForce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.grantState(t)
	spec := e.spec(t, map[string]any{"count_state": true})
	spec.State = &cd.StateSpec{Path: "/state"}
	spec.KeepResources = true
	res, _, err := e.run(t, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, detail(err))
	}
	ctx := context.Background()
	if _, err := e.c.BatchV1().Jobs(e.ns).Get(ctx, res.JobName, metav1.GetOptions{}); err != nil {
		t.Fatalf("kept job: %v", err)
	}
	pods, err := e.c.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + res.JobName})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Errorf("kept pods: %d", len(pods.Items))
	}
	// Force: no destroy container runs; everything of the run goes, state included.
	if err := (&cd.Executor{Client: e.c}).ForceCleanup(ctx, spec); err != nil {
		t.Fatal(err)
	}
	secrets, err := e.c.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "containerdriver.io/state-of"})
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items) != 0 {
		t.Errorf("state left after force cleanup")
	}
	// Every destroy Job since the test began, not only those still there.
	if jobs := e.seen.Jobs(map[string]string{contract.LabelAction: contract.ActionDestroy}); len(jobs) != 0 {
		t.Errorf("force cleanup ran destroy jobs %v", jobs)
	}
	e.assertEmpty(t)
}

// With kept Jobs, inputs A, then B, then A again must run three times: the Job kept from
// the first A is an outdated run, not a crashed attempt to re-attach to.
func TestAccExecutor_KeptJobIsNotReused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.grantState(t)
	spec := e.spec(t, nil)
	spec.State = &cd.StateSpec{Path: "/state"}
	spec.KeepResources = true
	for i, v := range []string{"a", "b", "a"} {
		spec.Inputs = map[string]any{"count_state": true, "v": v}
		res, _, err := e.run(t, spec, contract.ActionCreate)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, detail(err))
		}
		if fmt.Sprint(res.Outputs["count"]) != fmt.Sprint(i+1) {
			t.Fatalf("run %d (v=%s): count %v: an earlier kept Job's outputs came back", i+1, v, res.Outputs["count"])
		}
	}
	if err := (&cd.Executor{Client: e.c}).ForceCleanup(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	e.assertEmpty(t)
}

// TestAccExecutor_ContractVersionRefusedBeforeRunner: sidecars told another sidecar
// contract version (as a provider of that version would tell them) refuse to start; the
// run fails as ContractMismatch with the fix as soon as one refuses, before the runner
// starts (pre-checks' refusal would fail the pod anyway), not after the runner ran.
//
// The run keeps a state directory, so state-restore, an ordinary init container, comes
// before the runner (the provider leaves pre-checks out when it finds every right allowed,
// and without an init container nothing holds the runner back: the contract guide says so).
func TestAccExecutor_ContractVersionRefusedBeforeRunner(t *testing.T) {
	t.Parallel()
	e, spec := stateEnv(t)
	spec.Inputs = map[string]any{"print": []string{"the runner ran"}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rec := &recorder{}
	_, err := cd.WithContractVersion(&cd.Executor{Client: e.c, Observer: rec}, "99").Run(ctx, spec, contract.ActionCreate)
	var re *cd.RunError
	// outputs-fetcher starts first and refuses first; state-restore (or pre-checks), were it
	// first seen, would have refused too, before the runner.
	if !errors.As(err, &re) || re.Reason != cd.ReasonContractMismatch ||
		(re.Container != contract.ContainerOutputsFetcher && re.Container != contract.ContainerStateRestore && re.Container != contract.ContainerPreChecks) {
		t.Fatalf("got %v, want a %s on outputs-fetcher or pre-checks", err, cd.ReasonContractMismatch)
	}
	if !strings.Contains(re.Message, "sidecar_image") || !strings.Contains(re.Message, "version 99") {
		t.Errorf("the error does not name the versions and the fix: %q", re.Message)
	}
	if re.Runner != nil && re.Runner.State != "waiting" {
		t.Errorf("the runner started: %+v", re.Runner)
	}
	if strings.Contains(rec.all(), "the runner ran") {
		t.Errorf("the runner ran:\n%s", rec.all())
	}
	e.assertEmpty(t)
}
