package prechecks

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/apiretry"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube/kubetest"
)

// fakeAuthorizer answers access reviews from allowed ("verb resource" in namespace) and
// records what was asked.
func fakeAuthorizer(client *fake.Clientset, namespace string, allowed map[string]bool, asked *[]string) {
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		ra := r.Spec.ResourceAttributes
		key := ra.Verb + " " + ra.Resource
		*asked = append(*asked, ra.Namespace+": "+key)
		r.Status.Allowed = ra.Namespace == namespace && ra.Group == "" && allowed[key]
		return true, r, nil
	})
}

func TestRun(t *testing.T) {
	tests := []struct {
		name           string
		serviceAccount string
		selfUser       string
		allowed        map[string]bool
		wantErr        string
	}{
		{
			name: "allowed", serviceAccount: "runner",
			allowed: map[string]bool{"create configmaps": true, "create secrets": true},
		},
		{
			name: "secrets denied", serviceAccount: "runner",
			allowed: map[string]bool{"create configmaps": true},
			wantErr: `service account "runner" may not create secrets in namespace "runners". ` +
				`outputs-fetcher needs this to store the run's outputs, so the runner was not started. ` +
				`Fix: add this rule to a Role in namespace "runners" that a RoleBinding grants to service account runner:` + "\n" +
				"- apiGroups: [\"\"]\n  resources: [\"secrets\"]\n  verbs: [\"create\"]",
		},
		{
			name: "everything denied, service account learnt from the API server", selfUser: "system:serviceaccount:runners:humanitec-runner",
			allowed: map[string]bool{"get configmaps": true},
			wantErr: `service account "humanitec-runner" may not create configmaps or create secrets in namespace "runners". ` +
				`outputs-fetcher needs this to store the run's outputs, so the runner was not started. ` +
				`Fix: add this rule to a Role in namespace "runners" that a RoleBinding grants to service account humanitec-runner:` + "\n" +
				"- apiGroups: [\"\"]\n  resources: [\"configmaps\", \"secrets\"]\n  verbs: [\"create\"]",
		},
		{
			name: "service account unknown", selfUser: "kubernetes-admin",
			allowed: map[string]bool{"create configmaps": true},
			wantErr: `the pod's service account may not create secrets in namespace "runners". ` +
				`outputs-fetcher needs this to store the run's outputs, so the runner was not started. ` +
				`Fix: add this rule to a Role in namespace "runners" that a RoleBinding grants to the service account:` + "\n" +
				"- apiGroups: [\"\"]\n  resources: [\"secrets\"]\n  verbs: [\"create\"]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := config{
				Namespace: "runners", ServiceAccount: tt.serviceAccount,
				ErrorFile: filepath.Join(dir, "error.txt"), TerminationLog: filepath.Join(dir, "termination-log"),
				CheckTimeout: time.Second, FirstBackoff: time.Millisecond,
			}
			client := fake.NewClientset()
			var asked []string
			fakeAuthorizer(client, "runners", tt.allowed, &asked)
			client.PrependReactor("create", "selfsubjectreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, &authenticationv1.SelfSubjectReview{Status: authenticationv1.SelfSubjectReviewStatus{
					UserInfo: authenticationv1.UserInfo{Username: tt.selfUser},
				}}, nil
			})
			var logs bytes.Buffer

			err := run(context.Background(), cfg, kubetest.Client(client), &logs)

			if diff := cmp.Diff([]string{"runners: create configmaps", "runners: create secrets"}, asked); diff != "" {
				t.Errorf("access reviews mismatch (-want +got):\n%s", diff)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				for _, p := range []string{cfg.ErrorFile, cfg.TerminationLog} {
					if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("%s written on success", filepath.Base(p))
					}
				}
				return
			}
			if err == nil {
				t.Fatal("run succeeded, want a denial")
			}
			if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			for _, p := range []string{cfg.ErrorFile, cfg.TerminationLog} {
				b, rerr := os.ReadFile(p)
				if rerr != nil {
					t.Fatalf("%s: %v", filepath.Base(p), rerr)
				}
				if diff := cmp.Diff("pre-checks: "+tt.wantErr+"\n", string(b)); diff != "" {
					t.Errorf("%s mismatch (-want +got):\n%s", filepath.Base(p), diff)
				}
			}
		})
	}
}

func TestRun_CannotCheck(t *testing.T) {
	dir := t.TempDir()
	cfg := config{
		Namespace: "runners", ServiceAccount: "runner", ErrorFile: filepath.Join(dir, "error.txt"),
		CheckTimeout: 200 * time.Millisecond, FirstBackoff: time.Millisecond,
	}
	client := fake.NewClientset()
	calls := 0
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		return true, nil, apierrors.NewServiceUnavailable("apiserver is starting")
	})
	err := run(context.Background(), cfg, kubetest.Client(client), &bytes.Buffer{})
	if err == nil {
		t.Fatal("run succeeded, want an error")
	}
	want := `could not check whether service account "runner" may create configmaps in namespace "runners": gave up after`
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want prefix %q", err, want)
	}
	if calls < 2 {
		t.Errorf("%d calls, want retries", calls)
	}
	if b, _ := os.ReadFile(cfg.ErrorFile); !strings.Contains(string(b), want) {
		t.Errorf("error file = %q, want it to hold the error", b)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"POD_NAMESPACE": "ns", "SERVICE_ACCOUNT": "sa", "SCRIPTS_DIRECTORY": "/w"}
	got := configFromEnv(func(k string) string { return env[k] })
	want := config{
		Namespace: "ns", ServiceAccount: "sa", ErrorFile: "/w/error.txt", TerminationLog: "/dev/termination-log",
		CheckTimeout: checkTimeout, FirstBackoff: apiretry.FirstPause,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
}

func TestRun_StateDirectoryNeedsMore(t *testing.T) {
	dir := t.TempDir()
	cfg := config{
		Namespace: "runners", ServiceAccount: "runner", KeepsState: true,
		ErrorFile: filepath.Join(dir, "error.txt"), TerminationLog: filepath.Join(dir, "termination-log"),
		CheckTimeout: time.Second, FirstBackoff: time.Millisecond,
	}
	client := fake.NewClientset()
	var asked []string
	fakeAuthorizer(client, "runners", map[string]bool{"create configmaps": true, "create secrets": true, "get secrets": true}, &asked)
	err := run(context.Background(), cfg, kubetest.Client(client), &bytes.Buffer{})
	want := `service account "runner" may not list secrets or update secrets or delete secrets in namespace "runners". ` +
		`outputs-fetcher and state-restore need this to store the run's outputs and keep its state directory, so the runner was not started. ` +
		`Fix: add this rule to a Role in namespace "runners" that a RoleBinding grants to service account runner:` + "\n" +
		"- apiGroups: [\"\"]\n  resources: [\"secrets\"]\n  verbs: [\"list\", \"update\", \"delete\"]"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if len(asked) != 6 {
		t.Errorf("asked %v", asked)
	}
}
