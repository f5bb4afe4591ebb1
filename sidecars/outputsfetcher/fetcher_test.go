package outputsfetcher

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/apiretry"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube/kubetest"
)

const secretValue = "s3cr3t-p4ssw0rd"

func testConfig(t *testing.T) config {
	t.Helper()
	dir := t.TempDir()
	return config{
		Namespace: "runners", JobName: "cd-job", JobUID: "uid-1", BaseName: "cd-job-out",
		SharedDir: dir, OutputsFile: contract.OutputsFile(dir), SecretOutputsFile: contract.SecretOutputsFile(dir),
		ErrorFile:    contract.ErrorFile(dir),
		StoreTimeout: 2 * time.Second, FirstBackoff: time.Millisecond,
	}
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sigterm is a signal channel that already holds SIGTERM, as the kubelet would send it.
func sigterm() chan os.Signal {
	c := make(chan os.Signal, 1)
	c <- syscall.SIGTERM
	return c
}

// harvestFrom reads back what run stored, as the executor will.
func harvestFrom(t *testing.T, client *fake.Clientset) *outputs.Harvest {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: contract.LabelJob + "=cd-job"}
	cms, err := client.CoreV1().ConfigMaps("runners").List(context.Background(), sel)
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := client.CoreV1().Secrets("runners").List(context.Background(), sel)
	if err != nil {
		t.Fatal(err)
	}
	h, err := outputs.Assemble(cms.Items, secrets.Items)
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	if h.ContractVersion != contract.Version {
		t.Errorf("outputs written with contract version %q, want %q", h.ContractVersion, contract.Version)
	}
	h.ContractVersion = ""
	return h
}

func TestRun_StoresOutputs(t *testing.T) {
	cfg := testConfig(t)
	commit := strings.Repeat("c", 40)
	big := `{"big":"` + strings.Repeat("x", 2*contract.ChunkSize) + `"}`
	write(t, cfg.OutputsFile, big)
	write(t, cfg.SecretOutputsFile, `{"password":"`+secretValue+`"}`)
	write(t, cfg.ErrorFile, "failed with "+secretValue)
	// The runner can write the commit file: it is not stored, the executor takes the
	// commit from git-init's termination message.
	write(t, contract.GitCommitFile(cfg.SharedDir), commit+"\n")
	client := fake.NewClientset()
	var order []string
	client.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.CreateAction).GetObject().(metav1.Object)
		order = append(order, a.GetResource().Resource+"/"+obj.GetName())
		return false, nil, nil
	})
	var logs bytes.Buffer

	if err := run(context.Background(), cfg, kubetest.Client(client), sigterm(), &logs); err != nil {
		t.Fatalf("run: %v", err)
	}

	want := &outputs.Harvest{
		Outputs: []byte(big), SecretOutputs: []byte(`{"password":"` + secretValue + `"}`),
		ErrorText: "failed with " + secretValue,
	}
	if diff := cmp.Diff(want, harvestFrom(t, client)); diff != "" {
		t.Errorf("stored harvest mismatch (-want +got):\n%s", diff)
	}
	wantOrder := []string{"configmaps/cd-job-out-1", "configmaps/cd-job-out-2", "secrets/cd-job-out", "configmaps/cd-job-out"}
	if diff := cmp.Diff(wantOrder, order); diff != "" {
		t.Errorf("creation order mismatch (-want +got):\n%s", diff)
	}
	cm, err := client.CoreV1().ConfigMaps("runners").Get(context.Background(), "cd-job-out", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "cd-job", UID: "uid-1"}}, cm.OwnerReferences); diff != "" {
		t.Errorf("owner references mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(logs.String(), secretValue) {
		t.Errorf("logs reveal a secret:\n%s", logs.String())
	}
	for _, line := range []string{
		"stored Secret cd-job-out (error.txt: 27 bytes, outputs.json: 30 bytes)",
		"stored ConfigMap cd-job-out (contract-version: 1 bytes, outputs.json: 524288 bytes)",
		"stored 3 ConfigMap(s) and 1 Secret(s)",
	} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("logs lack %q:\n%s", line, logs.String())
		}
	}
}

func TestRun_ProblemsAreStoredNotFatal(t *testing.T) {
	cfg := testConfig(t)
	write(t, cfg.OutputsFile, `["not", "an", "object"]`)
	write(t, cfg.SecretOutputsFile, `{"password": `+secretValue+`}`)
	client := fake.NewClientset()
	var logs bytes.Buffer
	if err := run(context.Background(), cfg, kubetest.Client(client), sigterm(), &logs); err != nil {
		t.Fatalf("run: %v", err)
	}
	want := &outputs.Harvest{Problems: []string{
		cfg.OutputsFile + " is not a valid JSON object: it holds an array",
		cfg.SecretOutputsFile + " is not a valid JSON object: syntax error at byte 14",
	}}
	if diff := cmp.Diff(want, harvestFrom(t, client)); diff != "" {
		t.Errorf("stored harvest mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(logs.String(), secretValue) {
		t.Errorf("logs reveal a secret:\n%s", logs.String())
	}
}

// A restarted sidecar, or a second pod of the same Job, finds its objects already there.
func TestRun_UpdatesExistingObjects(t *testing.T) {
	cfg := testConfig(t)
	write(t, cfg.OutputsFile, `{"new":true}`)
	client := fake.NewClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cd-job-out", Namespace: "runners"}, Data: map[string]string{contract.KeyOutputs: `{"old":true}`}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cd-job-out", Namespace: "runners"}, Data: map[string][]byte{contract.KeyError: []byte("old error")}},
	)
	if err := run(context.Background(), cfg, kubetest.Client(client), sigterm(), &bytes.Buffer{}); err != nil {
		t.Fatalf("run: %v", err)
	}
	if diff := cmp.Diff(&outputs.Harvest{Outputs: []byte(`{"new":true}`)}, harvestFrom(t, client)); diff != "" {
		t.Errorf("stored harvest mismatch (-want +got):\n%s", diff)
	}
}

func TestRun_RetriesTransientErrors(t *testing.T) {
	cfg := testConfig(t)
	write(t, cfg.OutputsFile, `{"a":1}`)
	client := fake.NewClientset()
	failures := map[string]int{"configmaps": 2, "secrets": 1}
	attempts := map[string]int{}
	client.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.GetResource().Resource
		attempts[r]++
		if attempts[r] <= failures[r] {
			if r == "secrets" {
				return true, nil, errors.New("dial tcp 10.96.0.1:443: connect: connection refused")
			}
			return true, nil, apierrors.NewServiceUnavailable("etcd is busy")
		}
		return false, nil, nil
	})
	if err := run(context.Background(), cfg, kubetest.Client(client), sigterm(), &bytes.Buffer{}); err != nil {
		t.Fatalf("run: %v", err)
	}
	if diff := cmp.Diff(map[string]int{"configmaps": 3, "secrets": 2}, attempts); diff != "" {
		t.Errorf("attempts mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&outputs.Harvest{Outputs: []byte(`{"a":1}`)}, harvestFrom(t, client)); diff != "" {
		t.Errorf("stored harvest mismatch (-want +got):\n%s", diff)
	}
}

func TestRun_Failures(t *testing.T) {
	forbidden := func(verb, resource string) error {
		return apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "",
			errors.New(`User "system:serviceaccount:runners:runner" cannot `+verb+` resource "`+resource+`" in API group "" in the namespace "runners"`))
	}
	tests := []struct {
		name         string
		existing     []runtime.Object
		reactor      k8stesting.ReactionFunc
		verb         string
		wantErr      []string
		wantAttempts int
	}{
		{
			name: "forbidden create names the missing permission and is not retried",
			verb: "create",
			reactor: func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetResource().Resource == "secrets" {
					return true, nil, forbidden("create", "secrets")
				}
				return false, nil, nil
			},
			wantErr: []string{
				"the service account may not create secrets in namespace runners",
				`{apiGroups: [""], resources: ["configmaps", "secrets"], verbs: ["create"]}`,
				`cannot create resource "secrets"`,
			},
			wantAttempts: 1,
		},
		{
			name:     "forbidden update of a leftover object",
			existing: []runtime.Object{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cd-job-out", Namespace: "runners"}}},
			verb:     "update",
			reactor: func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, forbidden("update", "secrets")
			},
			wantErr:      []string{"secret cd-job-out already exists", `grant verb "update" on resource "secrets"`},
			wantAttempts: 1,
		},
		{
			name: "persistent overload gives up at the deadline",
			verb: "create",
			reactor: func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewTooManyRequests("slow down", 0)
			},
			wantErr: []string{"create secret cd-job-out: gave up after", "slow down"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.StoreTimeout = 300 * time.Millisecond
			write(t, cfg.SecretOutputsFile, `{"password":"`+secretValue+`"}`)
			client := fake.NewClientset(tt.existing...)
			var mu sync.Mutex
			attempts := 0
			client.PrependReactor(tt.verb, "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
				mu.Lock()
				attempts++
				mu.Unlock()
				return tt.reactor(a)
			})
			start := time.Now()
			err := run(context.Background(), cfg, kubetest.Client(client), sigterm(), &bytes.Buffer{})
			if err == nil {
				t.Fatal("run succeeded, want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("error reveals a secret: %v", err)
			}
			if tt.wantAttempts > 0 && attempts != tt.wantAttempts {
				t.Errorf("%d attempts, want %d", attempts, tt.wantAttempts)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("run took %v, past its deadline", d)
			}
		})
	}
}

func TestRun_WaitsForTheSignal(t *testing.T) {
	cfg := testConfig(t)
	write(t, cfg.OutputsFile, `{"a":1}`)
	client := fake.NewClientset()
	signals := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- run(context.Background(), cfg, kubetest.Client(client), signals, &bytes.Buffer{}) }()

	select {
	case err := <-done:
		t.Fatalf("run returned before the signal: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if n := len(client.Actions()); n != 0 {
		t.Fatalf("%d API calls before the signal, want none", n)
	}
	signals <- syscall.SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after SIGTERM")
	}
	if diff := cmp.Diff(&outputs.Harvest{Outputs: []byte(`{"a":1}`)}, harvestFrom(t, client)); diff != "" {
		t.Errorf("stored harvest mismatch (-want +got):\n%s", diff)
	}
}

func TestRun_CancelledBeforeSignalStoresNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	client := fake.NewClientset()
	err := run(ctx, testConfig(t), kubetest.Client(client), make(chan os.Signal), &bytes.Buffer{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("run() = %v, want context.Canceled", err)
	}
	if n := len(client.Actions()); n != 0 {
		t.Errorf("%d API calls, want none", n)
	}
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr string
	}{
		{
			name: "as the job builder sets it",
			env: map[string]string{
				"POD_NAMESPACE": "ns", "JOB_NAME": "j", "JOB_UID": "u", "OUTPUTS_OBJECT_NAME": "j-out",
				"SCRIPTS_DIRECTORY": "/w", "OUTPUTS_FILE": "/w/o.json", "SECRET_OUTPUTS_FILE": "/w/s.json", "ERROR_FILE": "/w/e.txt", "GIT_COMMIT_FILE": "/w/c",
			},
			want: config{
				Namespace: "ns", JobName: "j", JobUID: "u", BaseName: "j-out", SharedDir: "/w",
				OutputsFile: "/w/o.json", SecretOutputsFile: "/w/s.json", ErrorFile: "/w/e.txt", StateRestoredFile: "/w/.containerdriver-state-restored",
				StoreTimeout: storeTimeout, FirstBackoff: apiretry.FirstPause,
			},
		},
		{
			name: "defaults from the shared directory and the job name",
			env:  map[string]string{"POD_NAMESPACE": "ns", "JOB_NAME": "j", "SCRIPTS_DIRECTORY": "/w"},
			want: config{
				Namespace: "ns", JobName: "j", BaseName: "j-out", SharedDir: "/w",
				OutputsFile: "/w/outputs.json", SecretOutputsFile: "/w/secret-outputs.json", ErrorFile: "/w/error.txt",
				StateRestoredFile: "/w/.containerdriver-state-restored",
				StoreTimeout:      storeTimeout, FirstBackoff: apiretry.FirstPause,
			},
		},
		{
			name:    "missing",
			env:     map[string]string{"OUTPUTS_FILE": "/w/o.json"},
			wantErr: "environment variables not set: POD_NAMESPACE, JOB_NAME, SCRIPTS_DIRECTORY, SECRET_OUTPUTS_FILE, ERROR_FILE",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := configFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRun_SavesStateEvenWhenTheRunnerFailed(t *testing.T) {
	cfg := testConfig(t)
	cfg.StatePath, cfg.RunID = t.TempDir(), "run-7"
	cfg.StateRestoredFile = filepath.Join(t.TempDir(), "restored")
	write(t, cfg.StateRestoredFile, "0")
	write(t, filepath.Join(cfg.StatePath, "count"), "3")
	write(t, cfg.ErrorFile, "apply failed half way")
	client := fake.NewClientset()
	if err := run(context.Background(), cfg, kubetest.Client(client), sigterm(), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	h := harvestFrom(t, client)
	if h.StateBytes == 0 || h.StateError != "" {
		t.Fatalf("state bytes %d, error %q", h.StateBytes, h.StateError)
	}
	dst := t.TempDir()
	if _, err := (&statedir.Store{Secrets: client.CoreV1().Secrets(cfg.Namespace), Namespace: cfg.Namespace, RunID: "run-7"}).RestoreDir(context.Background(), dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "count")); string(b) != "3" {
		t.Errorf("restored count = %q", b)
	}
}

// A run whose state-restore never finished (git-init failed before it) must not save
// the empty directory over the last good state (issue 9, defect 1).
func TestRun_StateNotSavedWhenRestoreDidNotFinish(t *testing.T) {
	cfg := testConfig(t)
	cfg.StatePath, cfg.RunID = t.TempDir(), "run-9"
	cfg.StateRestoredFile = filepath.Join(t.TempDir(), "restored") // never written
	client := fake.NewClientset()
	store := &statedir.Store{Secrets: client.CoreV1().Secrets(cfg.Namespace), Namespace: cfg.Namespace, RunID: "run-9"}
	if _, err := store.Save(context.Background(), mustArchive(t, map[string]string{"count": "2"})); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), cfg, kubetest.Client(client), sigterm(), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if h := harvestFrom(t, client); !bytes.Contains([]byte(h.StateError), []byte("state-restore did not finish")) {
		t.Errorf("state error = %q", h.StateError)
	}
	dst := t.TempDir()
	if _, err := store.RestoreDir(context.Background(), dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "count")); string(b) != "2" {
		t.Errorf("saved state was replaced: count = %q, want 2", b)
	}
}

func mustArchive(t *testing.T, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	for k, v := range files {
		write(t, filepath.Join(dir, k), v)
	}
	b, err := statedir.Archive(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRun_StateWithASymlinkIsReported(t *testing.T) {
	cfg := testConfig(t)
	cfg.StatePath, cfg.RunID = t.TempDir(), "run-8"
	cfg.StateRestoredFile = ""
	if err := os.Symlink("/etc/hosts", filepath.Join(cfg.StatePath, "hosts")); err != nil {
		t.Fatal(err)
	}
	client := fake.NewClientset()
	if err := run(context.Background(), cfg, kubetest.Client(client), sigterm(), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if h := harvestFrom(t, client); !bytes.Contains([]byte(h.StateError), []byte("hosts is a symbolic link")) {
		t.Errorf("state error = %q", h.StateError)
	}
}

func TestRun_DeployerExportsInYAML(t *testing.T) {
	cfg := testConfig(t)
	cfg.OutputsFormat = contract.OutputsFormatJSONOrYAML
	write(t, cfg.OutputsFile, "bucket: b-1\nport: 8080\nlist:\n- a\n")
	client := fake.NewClientset()
	if err := run(context.Background(), cfg, kubetest.Client(client), sigterm(), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if h := harvestFrom(t, client); string(h.Outputs) != `{"bucket":"b-1","list":["a"],"port":8080}` || len(h.Problems) > 0 {
		t.Errorf("outputs %s, problems %v", h.Outputs, h.Problems)
	}
}

// Exports over the outputs limit are not read whole to be converted: the outputs reader
// refuses them as too large.
func TestYAMLExportsToJSON_OversizedIsNotConverted(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "exports")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: a YAML document (not JSON) one byte over the limit.
	if _, err := f.WriteString("a: 1\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(contract.MaxOutputsBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	h := outputs.ReadFiles(outputs.Files{Dir: dir, Outputs: p, ConvertOutputs: yamlExportsToJSON})
	if h.Outputs != nil || len(h.Problems) != 1 || !strings.Contains(h.Problems[0], "larger than the") {
		t.Errorf("oversized exports: outputs %d bytes, problems %q; want refused as too large", len(h.Outputs), h.Problems)
	}
	write(t, p, "a: 1\n")
	h = outputs.ReadFiles(outputs.Files{Dir: dir, Outputs: p, ConvertOutputs: yamlExportsToJSON})
	if string(h.Outputs) != `{"a":1}` || len(h.Problems) != 0 {
		t.Errorf("a small YAML file was not converted: %q, %q", h.Outputs, h.Problems)
	}
}
