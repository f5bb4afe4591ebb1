//go:build unix

package outputsfetcher

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube/kubetest"
)

// A runner that leaves links in place of its files gets none of their targets stored: the
// sidecar's token stays out of every ConfigMap and Secret, and each refusal is a problem
// naming the file. A named pipe does not block the sidecar past its grace period.
func TestRun_RefusesLinksAndPipes(t *testing.T) {
	const token = "eyJhbGciOiJSUzI1NiJ9.the-sidecars-token"
	tokenFile := filepath.Join(t.TempDir(), "token")
	write(t, tokenFile, token)
	cfg := testConfig(t)
	for _, err := range []error{
		os.Symlink(tokenFile, cfg.ErrorFile),
		os.Symlink(tokenFile, cfg.SecretOutputsFile),
		syscall.Mkfifo(cfg.OutputsFile, 0o644),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	client := fake.NewClientset()
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(context.Background(), cfg, kubetest.Client(client), sigterm(), &logs) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run blocked on the runner's files")
	}
	h := harvestFrom(t, client)
	want := []string{
		cfg.OutputsFile + " was refused: it is a named pipe",
		cfg.SecretOutputsFile + " was refused: it is a symbolic link",
		cfg.ErrorFile + " was refused: it is a symbolic link",
	}
	if len(h.Problems) != len(want) {
		t.Fatalf("problems %q, want %d", h.Problems, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(h.Problems[i], w) {
			t.Errorf("problem %q, want it to start with %q", h.Problems[i], w)
		}
	}
	cms, err := client.CoreV1().ConfigMaps("runners").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := client.CoreV1().Secrets("runners").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if all := fmt.Sprint(cms.Items, secrets.Items, logs.String()); strings.Contains(all, token) {
		t.Errorf("the token was stored or logged")
	}
}
