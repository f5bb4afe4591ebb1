package statedir

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

func store(objs ...runtime.Object) (*Store, *fake.Clientset) {
	c := fake.NewClientset(objs...)
	return &Store{Secrets: c.CoreV1().Secrets("ns"), Namespace: "ns", RunID: "run-1"}, c
}

func secretNames(t *testing.T, c *fake.Clientset) []string {
	t.Helper()
	l, err := c.CoreV1().Secrets("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, s := range l.Items {
		n = append(n, s.Name)
	}
	return n
}

func TestStore_RoundTripLargerThanOneSecret(t *testing.T) {
	s, c := store()
	ctx := context.Background()
	if got, err := s.Load(ctx); err != nil || got != nil {
		t.Fatalf("empty store: %v %v", got, err)
	}
	data := make([]byte, 3*1024*1024+17)
	_, _ = rand.Read(data)
	if _, err := s.Save(ctx, data); err != nil {
		t.Fatal(err)
	}
	if n := len(secretNames(t, c)); n != 8 { // head + 7 chunks of 512 KiB
		t.Errorf("%d secrets, want head + 7 chunks", n)
	}
	got, err := s.Load(ctx)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("round trip: equal=%v err=%v", bytes.Equal(got, data), err)
	}
	// A second save replaces the first: only its chunks remain.
	if _, err := s.Save(ctx, []byte("small")); err != nil {
		t.Fatal(err)
	}
	if n := len(secretNames(t, c)); n != 2 {
		t.Errorf("after replace: %v", secretNames(t, c))
	}
	if got, _ := s.Load(ctx); string(got) != "small" {
		t.Errorf("load = %q", got)
	}
	if err := s.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if n := secretNames(t, c); len(n) != 0 {
		t.Errorf("left after delete: %v", n)
	}
}

func TestStore_FailedSaveKeepsPreviousState(t *testing.T) {
	s, c := store()
	ctx := context.Background()
	if _, err := s.Save(ctx, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	// The API refuses the second chunk of the next save, half way through.
	creates := 0
	c.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		creates++
		if creates == 2 {
			return true, nil, errors.New("etcdserver: request is too large")
		}
		return false, nil, nil
	})
	big := bytes.Repeat([]byte("y"), 700*1024)
	if _, err := s.Save(ctx, big); err == nil {
		t.Fatal("save succeeded")
	}
	got, err := s.Load(ctx)
	if err != nil || string(got) != "v1" {
		t.Fatalf("after a failed save: %q %v", got, err)
	}
	if n := secretNames(t, c); len(n) != 2 {
		t.Errorf("a failed save left chunks behind: %v", n)
	}
}

func TestStore_DetectsCorruption(t *testing.T) {
	s, c := store()
	ctx := context.Background()
	if _, err := s.Save(ctx, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	list, err := c.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{LabelSelector: "containerdriver.io/role=state-chunk"})
	if err != nil {
		t.Fatal(err)
	}
	sec := list.Items[0]
	sec.Data = map[string][]byte{"data": []byte("v2")}
	if _, err := c.CoreV1().Secrets("ns").Update(ctx, &sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("got %v", err)
	}
}

// A save deletes only the generation it replaced: a generation another save of the same
// run is writing at that moment stays whole, so that save can still switch to it (issue
// 9, defect 6). Generations abandoned long ago are collected.
func TestStore_SaveLeavesAConcurrentGeneration(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset()
	s := &Store{Secrets: c.CoreV1().Secrets("ns"), Namespace: "ns", RunID: "run-1"}
	if _, err := s.Save(ctx, []byte("one")); err != nil {
		t.Fatal(err)
	}
	chunk := func(gen string, age time.Duration) {
		l := s.labels(contract.RoleStateChunk)
		l[contract.LabelStateGeneration] = gen
		l[chunkIndexLabel] = "0"
		_, err := c.CoreV1().Secrets("ns").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			Name: HeadName("run-1") + "-" + gen + "-0", Namespace: "ns", Labels: l,
			CreationTimestamp: metav1.NewTime(time.Now().Add(-age)),
		}, Data: map[string][]byte{keyData: []byte("other")}}, metav1.CreateOptions{})
		must(t, err)
	}
	chunk("inflight", time.Second)        // another save, writing right now
	chunk("abandoned", 2*staleGeneration) // a save that crashed long ago
	if _, err := s.Save(ctx, []byte("two")); err != nil {
		t.Fatal(err)
	}
	list, err := c.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{})
	must(t, err)
	gens := map[string]bool{}
	for _, o := range list.Items {
		if g := o.Labels[contract.LabelStateGeneration]; g != "" {
			gens[g] = true
		}
	}
	if !gens["inflight"] || gens["abandoned"] || len(gens) != 2 {
		t.Errorf("generations left: %v, want the new one and the one in flight", gens)
	}
	if data, err := s.Load(ctx); err != nil || string(data) != "two" {
		t.Errorf("load = %q, %v", data, err)
	}
}

// The executor gives the store its clientset's typed Secrets client of the namespace.
func TestStore_OnClientset(t *testing.T) {
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
	l, err := c.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 0 {
		t.Fatalf("%d Secrets left after Delete", len(l.Items))
	}
}
