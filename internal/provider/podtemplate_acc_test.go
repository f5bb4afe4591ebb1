package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// TestAccRun_PodTemplateSpellings: on the real cluster, with `terraform apply`, a
// pod_template that spells a reserved field another way (issue 23: Go's JSON matched
// these case-insensitively, and the pod ran with the host's PID namespace, a shared
// process namespace, another service account or the token) fails at plan time, on the run
// and on its runner configuration, and the namespace stays empty. The same run with an
// allowed template then runs, with the template in effect on its Job.
func TestAccRun_PodTemplateSpellings(t *testing.T) {
	e := newAccEnv(t)
	run := func(jobTemplate, runnerTemplate string, keep bool) string {
		runner := ""
		if runnerTemplate != "" {
			runner = fmt.Sprintf("runner = {\n    namespace = %q\n    service_account = \"runner\"\n    pod_template = %s\n  }", e.ns, hclString(runnerTemplate))
		}
		job := ""
		if jobTemplate != "" {
			job = "pod_template = " + hclString(jobTemplate)
		}
		return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  %s
  keep_job = %v
  inputs   = { outputs = { ok = "yes" } }
}
`, runner, e.jobBlock(job), keep)
	}
	refused := []struct{ job, runner, want string }{
		{"spec:\n  HostPID: true\n", "", `unknown field "spec\.HostPID"`},
		{"spec:\n  ShareProcessNamespace: true\n", "", `unknown field "spec\.ShareProcessNamespace"`},
		{"spec:\n  serviceaccountname: default\n", "", `unknown field "spec\.serviceaccountname"`},
		{"", "spec:\n  automountserviceaccounttoken: true\n", `unknown field "spec\.automountserviceaccounttoken"`},
		{"spec:\n  initContainers:\n  - name: pre-checks\n    restartPolicy: Always\n", "", `spec\.initContainers\[pre-checks\]\.restartPolicy cannot be overridden`},
	}
	var steps []resource.TestStep
	for _, r := range refused {
		steps = append(steps, resource.TestStep{
			// A full plan and apply: the error must come from the plan's attribute validator.
			Config:      run(r.job, r.runner, false),
			ExpectError: regexp.MustCompile(`Invalid Pod Template(.|\n)*` + strings.ReplaceAll(r.want, " ", `\s+`)),
		})
	}
	allowed := "metadata:\n  labels: {team: platform}\nspec:\n  nodeSelector: {kubernetes.io/os: linux}\n" +
		"  containers:\n  - name: runner\n    resources: {limits: {memory: 1536Mi}}\n"
	steps = append(steps, resource.TestStep{
		PreConfig: func() { e.assertNamespaceEmpty(t) },
		Config:    run(allowed, "", true),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("containerdriver_run.test", tfjsonpath.New("outputs").AtMapKey("ok"), knownvalue.StringExact("yes")),
		},
		Check: func(*terraform.State) error {
			jobs := e.jobs(t, contract.ActionCreate)
			if len(jobs) != 1 {
				return fmt.Errorf("%d create Jobs kept, want 1", len(jobs))
			}
			pt := jobs[0].Spec.Template
			if pt.Labels["team"] != "platform" || pt.Spec.NodeSelector["kubernetes.io/os"] != "linux" {
				return fmt.Errorf("the allowed template is not on the Job: labels %v, nodeSelector %v", pt.Labels, pt.Spec.NodeSelector)
			}
			for _, c := range pt.Spec.Containers {
				if c.Name == contract.ContainerRunner && c.Resources.Limits.Memory().String() != "1536Mi" {
					return fmt.Errorf("runner memory limit %s, want 1536Mi", c.Resources.Limits.Memory())
				}
			}
			return nil
		},
	})
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: steps})
}

// assertNamespaceEmpty fails the test when the test's namespace holds any Job, pod, Lease,
// Secret or ConfigMap (but the cluster's own kube-root-ca.crt).
func (e *accEnv) assertNamespaceEmpty(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var found []string
	jobs, err := e.client.BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list jobs: %v", err)
	}
	for _, o := range jobs.Items {
		found = append(found, "job/"+o.Name)
	}
	pods, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	for _, o := range pods.Items {
		found = append(found, "pod/"+o.Name)
	}
	secrets, err := e.client.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list secrets: %v", err)
	}
	for _, o := range secrets.Items {
		found = append(found, "secret/"+o.Name)
	}
	cms, err := e.client.CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list configmaps: %v", err)
	}
	for _, o := range cms.Items {
		if o.Name != "kube-root-ca.crt" {
			found = append(found, "configmap/"+o.Name)
		}
	}
	leases, err := e.client.CoordinationV1().Leases(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list leases: %v", err)
	}
	for _, o := range leases.Items {
		found = append(found, "lease/"+o.Name)
	}
	if len(found) > 0 {
		t.Errorf("refused templates left objects in %s: %v", e.ns, found)
	}
}
