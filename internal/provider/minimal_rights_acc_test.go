package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

// documentedProviderRules are the provider identity's rights for containerdriver_run, as
// the Requirements guide (docs-templates/guides/requirements.md.tmpl) lists them: keep the
// two the same. The guide's optional row (create on localsubjectaccessreviews, which lets
// the provider check the run's rights itself and start the pod without pre-checks) is left
// out: without it, pre-checks runs as before.
var documentedProviderRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
	{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "watch", "delete"}},
	{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
	{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"list", "watch"}},
	{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete", "deletecollection"}},
	{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"watch"}},
	{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list", "watch", "create", "update", "delete"}},
	{APIGroups: []string{""}, Resources: []string{"namespaces", "serviceaccounts"}, Verbs: []string{"get"}},
}

// identityKubeconfig creates a service account in ns bound to a Role with rules, and
// writes a kubeconfig that authenticates as it with a TokenRequest token.
func identityKubeconfig(t *testing.T, e *accEnv, name string, rules []rbacv1.PolicyRule) string {
	t.Helper()
	ctx := context.Background()
	if _, err := e.client.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RbacV1().Roles(e.ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RbacV1().RoleBindings(e.ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: e.ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	seconds := int64(3600)
	tok, err := e.client.CoreV1().ServiceAccounts(e.ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	admin := testcluster.RestConfig(t)
	ca := admin.CAData
	if len(ca) == 0 && admin.CAFile != "" {
		if ca, err = os.ReadFile(admin.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: ca}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: name, Namespace: e.ns}
	cfg.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// everythingLeft lists every Job, pod, Secret, ConfigMap (but kube-root-ca.crt) and Lease
// of the namespace, whoever labelled them.
func (e *accEnv) everythingLeft(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	var left []string
	jobs, err := e.client.BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs.Items {
		left = append(left, "job/"+j.Name)
	}
	pods, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		left = append(left, "pod/"+p.Name)
	}
	secrets, err := e.client.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		left = append(left, "secret/"+s.Name)
	}
	cms, err := e.client.CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cms.Items {
		if c.Name != "kube-root-ca.crt" {
			left = append(left, "configmap/"+c.Name)
		}
	}
	leases, err := e.client.CoordinationV1().Leases(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases.Items {
		left = append(left, "lease/"+l.Name)
	}
	return left
}

// TestAccRun_DocumentedProviderRightsSuffice runs the provider as a service account with
// exactly the rights the Requirements guide documents for its identity, through the CLI:
// a create, an in-place update and a destroy of a run that uses every kind of object the
// provider handles (input Secrets and ConfigMaps, a secret variable, a write-only secret
// kept for destroy, the state Secrets of state_path, the create's Lease). Every step
// succeeds without a warning (a forbidden Lease or preflight read only warns), and nothing
// is left in the namespace.
func TestAccRun_DocumentedProviderRightsSuffice(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	e.grantState(t) // the runs' service account, for state_path
	e.kubeconfig = identityKubeconfig(t, e, "provider-identity", documentedProviderRules)
	c.env = append(c.env, "TF_VAR_wo=wo-secret-value")
	config := func(v int) string {
		return e.providerBlock() + fmt.Sprintf(`
variable "wo" {
  type      = string
  sensitive = true
  ephemeral = true
}
resource "containerdriver_run" "test" {
  %s
  files               = { "plain.txt" = "a file" }
  secret_files        = { "secret.txt" = "a secret file" }
  secret_variables_wo = { WO = var.wo }
  secrets_wo_version  = "1"
  state_path          = "/state"
  inputs              = { count_state = true, v = %d, secret_outputs = { s = "a secret output" } }
}

output "count" {
  value = containerdriver_run.test.outputs.count
}
`, e.jobBlock(`secret_variables = { SV = "a secret variable" }`), v)
	}
	noWarning := func(step, out string) {
		t.Helper()
		for _, l := range strings.Split(out, "\n") {
			// dev_overrides, which the test's CLI configuration uses, always warn.
			if strings.Contains(l, "Warning:") && !strings.Contains(l, "Provider development overrides are in effect") {
				t.Errorf("%s with the documented rights warned (%s):\n%s", step, strings.TrimSpace(l), out)
			}
		}
	}
	c.write(config(1))
	out := c.must("create", "apply", "-auto-approve")
	noWarning("create", out)
	if !strings.Contains(out, `count = 1`) {
		t.Errorf("create: the runner did not count 1 in its state:\n%s", out)
	}
	if e.stateSecrets(t) == 0 {
		t.Errorf("create: no state Secret saved")
	}
	c.write(config(2))
	out = c.must("update", "apply", "-auto-approve")
	noWarning("update", out)
	if !strings.Contains(out, `count = 2`) {
		t.Errorf("update: the runner did not count 2 in its state:\n%s", out)
	}
	out = c.must("destroy", "destroy", "-auto-approve")
	noWarning("destroy", out)
	// Pods go a moment after their Job (garbage collection).
	left := e.everythingLeft(t)
	for i := 0; i < 50 && len(left) > 0; i++ {
		time.Sleep(200 * time.Millisecond)
		left = e.everythingLeft(t)
	}
	// The claim key stays on purpose (docs/guides/failure-modes.md): the documented rights
	// made it, so the creates were protected against a crash.
	kept := false
	for i := 0; i < len(left); i++ {
		if left[i] == "secret/"+containerdriver.ClaimKeySecret {
			kept = true
			left = append(left[:i], left[i+1:]...)
			i--
		}
	}
	if !kept {
		t.Errorf("no claim key Secret %s in %s: the documented rights did not let the create claim its run id", containerdriver.ClaimKeySecret, e.ns)
	}
	if len(left) > 0 {
		t.Errorf("left in %s after destroy: %v", e.ns, left)
	}
}
