package statedir

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// The executor gives the store its clientset's typed Secrets client of the namespace.
func TestStoreOnClientset(t *testing.T) {
	c := fake.NewClientset()
	s := &Store{Secrets: c.CoreV1().Secrets("ns"), Namespace: "ns", RunID: "run-1"}
	ctx := context.Background()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "count"), []byte("2"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveDir(ctx, src); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Secrets("ns").Get(ctx, HeadName("run-1"), metav1.GetOptions{}); err != nil {
		t.Fatalf("head Secret: %v", err)
	}
	dst := t.TempDir()
	if n, err := s.RestoreDir(ctx, dst); err != nil || n == 0 {
		t.Fatalf("restore: %d bytes, %v", n, err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "count")); err != nil || string(b) != "2" {
		t.Fatalf("restored %q, %v", b, err)
	}
	if err := s.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Fatalf("%d Secrets left after Delete", len(l.Items))
	}
}
