package containerdriver

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// TestBuildJob_GitSSHKeyAndKnownHosts: an SSH source's key reaches git-init only, through
// the run's source Secret (never as a value in the Job), and known_hosts is passed as the
// pin git-init verifies the host against.
func TestBuildJob_GitSSHKeyAndKnownHosts(t *testing.T) {
	const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAtest\n-----END OPENSSH PRIVATE KEY-----\n"
	const hosts = "git.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHosts"
	spec := minimalSpec()
	spec.Source = &SourceSpec{URL: "ssh://git@git.example/org/infra.git", Ref: "refs/heads/main", SSHKey: key, KnownHosts: hosts}
	got, err := BuildJob(spec, contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	var gitInit *corev1.Container
	for i, c := range got.Job.Spec.Template.Spec.InitContainers {
		if c.Name == contract.ContainerGitInit {
			gitInit = &got.Job.Spec.Template.Spec.InitContainers[i]
		}
	}
	if gitInit == nil {
		t.Fatal("no git-init container")
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range gitInit.Env {
		env[e.Name] = e
	}
	if v := env[contract.EnvGitKnownHosts]; v.Value != hosts {
		t.Errorf("%s = %q, want the pinned host keys", contract.EnvGitKnownHosts, v.Value)
	}
	if _, ok := env[contract.EnvGitPassword]; ok {
		t.Errorf("%s set without a password", contract.EnvGitPassword)
	}
	ref := env[contract.EnvGitSSHKey].ValueFrom
	if env[contract.EnvGitSSHKey].Value != "" || ref == nil || ref.SecretKeyRef == nil {
		t.Fatalf("%s is not a Secret reference: %+v", contract.EnvGitSSHKey, env[contract.EnvGitSSHKey])
	}
	var source *corev1.Secret
	for _, s := range got.Secrets {
		if s.Name == ref.SecretKeyRef.Name {
			source = s
		}
	}
	if source == nil {
		t.Fatalf("the Secret %s the key refers to is not among the run's Secrets", ref.SecretKeyRef.Name)
	}
	if string(source.Data[ref.SecretKeyRef.Key]) != key {
		t.Errorf("Secret %s[%s] does not hold the key", source.Name, ref.SecretKeyRef.Key)
	}
	if source.Labels[contract.LabelRole] != contract.RoleSource {
		t.Errorf("the key's Secret has role %q, want %q", source.Labels[contract.LabelRole], contract.RoleSource)
	}
	for _, c := range got.Job.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == contract.EnvGitSSHKey {
				t.Errorf("container %s gets the SSH key", c.Name)
			}
		}
	}
	b, err := json.Marshal(got.Job)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "b3BlbnNzaC1rZXktdjEAAAAAtest") {
		t.Error("the SSH key is in the Job spec")
	}
}
