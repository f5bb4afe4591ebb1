// Package templates_test runs each runner image template as a Job on the local cluster,
// through the provider's executor: create, update, destroy, and what a user sees of each.
package templates_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

// module is what a user would ship with files: built-ins only, no network. It is the
// module the templates' READMEs check the images with (containerdriver check).
var module = func() string {
	b, err := os.ReadFile("opentofu/check/module/main.tf")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// stateRules is what the templates' READMEs tell users to grant for the kubernetes
// backend; the tests run with exactly these.
var stateRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
	{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update", "delete"}},
}

func TestAccTemplate_OpenTofu(t *testing.T) {
	testIaCTemplate(t, "opentofu", "tofu")
}

func TestAccTemplate_Terraform(t *testing.T) {
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Skip("terraform is not installed")
	}
	testIaCTemplate(t, "terraform", "terraform")
}

// testIaCTemplate runs a module through create, update, a failing update and destroy, and
// checks the state Secret at each step.
func testIaCTemplate(t *testing.T, template, tool string) {
	c := testcluster.Client(t)
	ns := testcluster.Namespace(t, c)
	grantState(t, c, ns)
	image := templateImage(t, template)
	runID := newUUID(t)
	log := &logRecorder{}
	ex := &containerdriver.Executor{Client: c, Observer: log}
	spec := func(inputs map[string]any) *containerdriver.RunSpec {
		return &containerdriver.RunSpec{
			RunID: runID,
			Job: containerdriver.JobSpec{
				Image: image, SharedDirectory: "/workspace", ServiceAccount: testcluster.RunnerServiceAccount, Namespace: ns,
				// The kubernetes backend runs in the runner: as the READMEs say, it needs the token.
				MountServiceAccountToken: true,
			},
			Files:        map[string]string{"main.tf": module},
			Inputs:       inputs,
			SidecarImage: testcluster.SidecarImage(t),
		}
	}
	ctx := testContext(t)

	res, err := ex.Run(ctx, spec(map[string]any{"name": "world"}), contract.ActionCreate)
	if err != nil {
		t.Fatalf("create: %s", detail(err))
	}
	id, _ := res.Outputs["greeting_id"].(string)
	if diff := cmp.Diff(map[string]any{"greeting": "hello world", "greeting_id": id}, res.Outputs); diff != "" || id == "" {
		t.Errorf("outputs after create (-want +got):\n%s", diff)
	}
	pw, _ := res.SecretOutputs["password"].(string)
	if len(res.SecretOutputs) != 1 || !strings.HasPrefix(pw, "pw-") {
		t.Errorf("secret outputs after create = %v, want only the password", res.SecretOutputs)
	}
	createLog := log.take()
	if !strings.Contains(createLog, "Apply complete! Resources: 1 added") {
		t.Errorf("the runner's log does not show the apply:\n%s", createLog)
	}
	if pw != "" && strings.Contains(createLog, pw) {
		t.Errorf("the secret output %q is in the runner's log", pw)
	}
	secrets, leases := stateObjects(t, c, ns, runID)
	if len(secrets) != 1 || secrets[0] != "tfstate-default-"+runID {
		t.Errorf("state Secrets after create = %v, want [tfstate-default-%s]", secrets, runID)
	}
	if len(leases) != 1 {
		t.Errorf("state Leases after create = %v, want the lock Lease", leases)
	}

	// An update finds the state: the same resource changes in place and keeps its id.
	res, err = ex.Run(ctx, spec(map[string]any{"name": "again"}), contract.ActionCreate)
	if err != nil {
		t.Fatalf("update: %s", detail(err))
	}
	if got := res.Outputs["greeting"]; got != "hello again" {
		t.Errorf("greeting after update = %v, want %q", got, "hello again")
	}
	if got := res.Outputs["greeting_id"]; got != id {
		t.Errorf("greeting_id after update = %v, want %v (was the state lost?)", got, id)
	}

	// A failing run reports the tool's own message, from ERROR_FILE.
	_, err = ex.Run(ctx, spec(map[string]any{"name": ""}), contract.ActionCreate)
	var runErr *containerdriver.RunError
	if !errors.As(err, &runErr) {
		t.Fatalf("a failing run returned %v, want a RunError", err)
	}
	for _, want := range []string{tool + " apply failed (exit code 1)", "The name must not be empty."} {
		if !strings.Contains(runErr.ErrorFile, want) {
			t.Errorf("the error file does not contain %q:\n%s", want, runErr.ErrorFile)
		}
	}
	if runErr.ExitCode == nil || *runErr.ExitCode != 1 {
		t.Errorf("exit code = %v, want the tool's 1", runErr.ExitCode)
	}

	log.take()
	res, err = ex.Run(ctx, spec(map[string]any{"name": "again"}), contract.ActionDestroy)
	if err != nil {
		t.Fatalf("destroy: %s", detail(err))
	}
	if len(res.Outputs) != 0 || len(res.SecretOutputs) != 0 {
		t.Errorf("after destroy outputs = %v, secret outputs = %v, want none", res.Outputs, res.SecretOutputs)
	}
	destroyLog := log.take()
	for _, want := range []string{"Resources: 1 destroyed", "removed the emptied state"} {
		if !strings.Contains(destroyLog, want) {
			t.Errorf("the destroy's log does not contain %q:\n%s", want, destroyLog)
		}
	}
	secrets, leases = stateObjects(t, c, ns, runID)
	if len(secrets) != 0 || len(leases) != 0 {
		t.Errorf("after destroy the state is still there: secrets %v, leases %v", secrets, leases)
	}
}

// The module in a sub directory of the shared directory: the kubelet creates that
// directory as root for the files it mounts, so the runner works on a copy.
func TestAccTemplate_OpenTofuWorkingDirectory(t *testing.T) {
	c := testcluster.Client(t)
	ns := testcluster.Namespace(t, c)
	grantState(t, c, ns)
	log := &logRecorder{}
	ex := &containerdriver.Executor{Client: c, Observer: log}
	spec := &containerdriver.RunSpec{
		RunID: newUUID(t),
		Job: containerdriver.JobSpec{
			Image: templateImage(t, "opentofu"), SharedDirectory: "/workspace", ServiceAccount: testcluster.RunnerServiceAccount, Namespace: ns,
			MountServiceAccountToken: true, // the kubernetes backend
			Variables:                map[string]string{"TF_WORKING_DIR": "infra/app"},
		},
		Files: map[string]string{
			"infra/app/main.tf":              "module \"greeting\" {\n  source = \"../modules/greeting\"\n  name   = var.name\n}\nvariable \"name\" {}\noutput \"greeting\" {\n  value = module.greeting.greeting\n}\n",
			"infra/modules/greeting/main.tf": module,
		},
		Inputs:       map[string]any{"name": "sub"},
		SidecarImage: testcluster.SidecarImage(t),
	}
	ctx := testContext(t)
	res, err := ex.Run(ctx, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("create: %s", detail(err))
	}
	if got := res.Outputs["greeting"]; got != "hello sub" {
		t.Errorf("outputs = %v, want greeting %q", res.Outputs, "hello sub")
	}
	if l := log.take(); !strings.Contains(l, "working on a copy") {
		t.Errorf("the runner did not work on a copy of the read-only directory:\n%s", l)
	}
	if _, err := ex.Run(ctx, spec, contract.ActionDestroy); err != nil {
		t.Fatalf("destroy: %s", detail(err))
	}
}

func TestAccTemplate_Shell(t *testing.T) {
	c := testcluster.Client(t)
	ns := testcluster.Namespace(t, c)
	ex := &containerdriver.Executor{Client: c}
	runID := newUUID(t)
	spec := func(inputs map[string]any) *containerdriver.RunSpec {
		return &containerdriver.RunSpec{
			RunID: runID,
			Job: containerdriver.JobSpec{
				Image: templateImage(t, "shell"), SharedDirectory: "/workspace", ServiceAccount: testcluster.RunnerServiceAccount, Namespace: ns,
			},
			Files:        map[string]string{"hello.txt": "hi"},
			Inputs:       inputs,
			SidecarImage: testcluster.SidecarImage(t),
		}
	}
	ctx := testContext(t)
	res, err := ex.Run(ctx, spec(map[string]any{"name": "Ada"}), contract.ActionCreate)
	if err != nil {
		t.Fatalf("create: %s", detail(err))
	}
	want := map[string]any{"greeting": "hello Ada", "action": "create", "files": "hello.txt"}
	if diff := cmp.Diff(want, res.Outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	token, _ := res.SecretOutputs["token"].(string)
	if len(token) != 32 {
		t.Errorf("secret outputs = %v, want a 32-character token", res.SecretOutputs)
	}
	again, err := ex.Run(ctx, spec(map[string]any{"name": "Ada"}), contract.ActionCreate)
	if err != nil {
		t.Fatalf("re-apply: %s", detail(err))
	}
	if again.SecretOutputs["token"] != token {
		t.Errorf("the token changed on a re-apply: %v then %v", token, again.SecretOutputs["token"])
	}

	_, err = ex.Run(ctx, spec(map[string]any{"name": "Ada", "fail": "the bucket is gone"}), contract.ActionCreate)
	var runErr *containerdriver.RunError
	if !errors.As(err, &runErr) || strings.TrimSpace(runErr.ErrorFile) != "the bucket is gone" || runErr.ExitCode == nil || *runErr.ExitCode != 3 {
		t.Errorf("a failing run gave %v (error file %q), want exit code 3 and the message", err, errorFile(runErr))
	}

	res, err = ex.Run(ctx, spec(map[string]any{"name": "Ada"}), contract.ActionDestroy)
	if err != nil {
		t.Fatalf("destroy: %s", detail(err))
	}
	if len(res.Outputs) != 0 || len(res.SecretOutputs) != 0 {
		t.Errorf("after destroy outputs = %v, secret outputs = %v, want none", res.Outputs, res.SecretOutputs)
	}
}

// logRecorder keeps the runner container's log lines, as a user sees them with TF_LOG=INFO.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) Event(string) {}

func (r *logRecorder) LogLine(container, line string) {
	if container != contract.ContainerRunner {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
}

// take returns the lines logged since the last call.
func (r *logRecorder) take() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := strings.Join(r.lines, "\n")
	r.lines = nil
	return s
}

// templateImage builds a template with its own build.sh, as a user of this machine does,
// and imports it into the cluster. Built once per test binary and template.
var images = map[string]string{}

func templateImage(t *testing.T, template string) string {
	t.Helper()
	if ref, ok := images[template]; ok {
		return ref
	}
	ref := testcluster.ImageRegistry + "/" + template + "-runner:test"
	tar := filepath.Join(t.TempDir(), template+".tar")
	cmd := exec.Command(filepath.Join(template, "build.sh"), tar)
	cmd.Env = append(os.Environ(), "IMAGE="+ref)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s/build.sh: %v\n%s", template, err, out)
	}
	testcluster.LoadImage(t, tar)
	images[template] = ref
	return ref
}

// grantState adds the kubernetes backend's rules to the test service account "runner".
func grantState(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "tfstate", Namespace: ns}, Rules: stateRules}
	if _, err := c.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "tfstate", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "tfstate"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: testcluster.RunnerServiceAccount, Namespace: ns}},
	}
	if _, err := c.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// stateObjects lists the kubernetes backend's Secrets and Leases of one run.
func stateObjects(t *testing.T, c kubernetes.Interface, ns, runID string) (secrets, leases []string) {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: "tfstate=true,tfstateSecretSuffix=" + runID}
	sl, err := c.CoreV1().Secrets(ns).List(context.Background(), sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sl.Items {
		secrets = append(secrets, s.Name)
	}
	ll, err := c.CoordinationV1().Leases(ns).List(context.Background(), sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ll.Items {
		leases = append(leases, l.Name)
	}
	return secrets, leases
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func detail(err error) string {
	var re *containerdriver.RunError
	if errors.As(err, &re) {
		return re.Detail()
	}
	return err.Error()
}

func errorFile(e *containerdriver.RunError) string {
	if e == nil {
		return ""
	}
	return e.ErrorFile
}

func newUUID(t *testing.T) string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		t.Fatal(err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
	// A suffix ending in -<digits> is hashed by the runner helper; keep the test's
	// expectation simple.
	if strings.Trim(id[24:], "0123456789") == "" {
		return newUUID(t)
	}
	return id
}
