package containerdriver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The executor's side of the plan action on a fake clientset: reading what a plan Job's
// outputs-fetcher left, and keeping, loading and deleting previews.

func chunkSecret(name string, i, of int, data map[string][]byte) corev1.Secret {
	s := corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns",
		Labels: map[string]string{contract.LabelChunkIndex: strconv.Itoa(i)}}, Data: data}
	if i == 0 {
		s.Annotations = map[string]string{contract.AnnotationChunks: strconv.Itoa(of)}
	}
	return s
}

func TestAssembleChunks(t *testing.T) {
	k := contract.KeyPlanArtifact
	three := []corev1.Secret{
		chunkSecret("c2", 2, 3, map[string][]byte{k: []byte("c")}),
		chunkSecret("c0", 0, 3, map[string][]byte{k: []byte("a")}),
		chunkSecret("c1", 1, 3, map[string][]byte{k: []byte("b")}),
	}
	noCount := chunkSecret("c0", 0, 1, nil)
	noCount.Annotations = nil
	zeroCount := chunkSecret("c0", 0, 0, nil)
	badIndex := chunkSecret("odd", 0, 1, nil)
	badIndex.Labels[contract.LabelChunkIndex] = "-1"
	for _, tc := range []struct {
		name  string
		items []corev1.Secret
		want  string
		head  string
		err   string
	}{
		{name: "in index order, whatever the list order", items: three, want: "abc", head: "c0"},
		{name: "one chunk", items: []corev1.Secret{chunkSecret("only", 0, 1, map[string][]byte{k: []byte("x")})}, want: "x", head: "only"},
		{name: "empty artifact", items: []corev1.Secret{chunkSecret("only", 0, 1, nil)}, want: "", head: "only"},
		{name: "no chunks", err: "chunk 0 is missing"},
		{name: "head missing", items: three[:1], err: "chunk 0 is missing"},
		{name: "middle chunk missing", items: []corev1.Secret{three[0], three[1]}, err: "chunk 2 of 3 is missing"},
		{name: "no count", items: []corev1.Secret{noCount}, err: "c0 has no valid chunk count"},
		{name: "zero count", items: []corev1.Secret{zeroCount}, err: "c0 has no valid chunk count"},
		{name: "negative index", items: []corev1.Secret{badIndex}, err: "odd has no valid chunk index"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, head, err := assembleChunks(tc.items, k)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want || head.Name != tc.head {
				t.Errorf("got %q head %s, want %q head %s", got, head.Name, tc.want, tc.head)
			}
		})
	}
}

// planSecrets are the Secrets outputs-fetcher writes for a plan Job (see
// sidecars/outputsfetcher/plan.go), the artifact in chunks of size.
func planSecrets(job string, artifact []byte, size int, head map[string][]byte) []runtime.Object {
	pieces := contract.Chunks(artifact, size)
	sum := sha256.Sum256(artifact)
	var out []runtime.Object
	for i, c := range pieces {
		s := chunkSecret(contract.ChunkName(contract.PlanObjectName(job), i), i, len(pieces), map[string][]byte{contract.KeyPlanArtifact: c})
		s.Labels[contract.LabelManagedBy] = contract.ManagedByValue
		s.Labels[contract.LabelJob] = job
		s.Labels[contract.LabelRole] = contract.RolePlan
		if i == 0 {
			s.Data[contract.KeyPlanArtifactSHA256] = []byte(hex.EncodeToString(sum[:]))
			for k, v := range head {
				s.Data[k] = v
			}
		}
		out = append(out, &s)
	}
	return out
}

func TestReadPlan(t *testing.T) {
	const secret = "s3cr3t-value-of-the-run"
	red := newRedactorOf([]string{secret})
	summary := []byte(`{"add":1,"change":2,"destroy":0,"has_changes":true}`)
	artifact := bytes.Repeat([]byte("artifact"), 10)
	for _, tc := range []struct {
		name string
		objs []runtime.Object
		want PlanResult
		err  string
	}{
		{
			name: "whole plan in three chunks, text masked",
			objs: planSecrets("j", artifact, 32, map[string][]byte{
				contract.KeyPlanText: []byte("plan shows " + secret), contract.KeyPlanSummary: summary, contract.KeyPlanTruncated: []byte("true"),
			}),
			want: PlanResult{Text: "plan shows " + MaskedText, Truncated: true, Summary: contract.PlanSummary{Add: 1, Change: 2, HasChanges: true}, ArtifactBytes: len(artifact)},
		},
		{
			name: "no artifact",
			objs: planSecrets("j", nil, 32, map[string][]byte{contract.KeyPlanSummary: []byte(`{"add":0,"change":0,"destroy":0,"has_changes":false}`)}),
			want: PlanResult{},
		},
		{
			name: "problems reported by outputs-fetcher, masked",
			objs: planSecrets("j", nil, 32, map[string][]byte{contract.KeyProblems: []byte(`["no plan file","saw ` + secret + `"]`), contract.KeyPlanSummary: summary}),
			err:  "the plan run broke the contract: no plan file; saw " + MaskedText,
		},
		{
			name: "summary with an unknown field",
			objs: planSecrets("j", nil, 32, map[string][]byte{contract.KeyPlanSummary: []byte(`{"add":1,"remove":2}`)}),
			err:  "is not a plan summary",
		},
		{
			name: "negative count",
			objs: planSecrets("j", nil, 32, map[string][]byte{contract.KeyPlanSummary: []byte(`{"add":-1}`)}),
			err:  "has a negative count",
		},
		{
			name: "artifact does not match its checksum",
			objs: func() []runtime.Object {
				o := planSecrets("j", artifact, 1024, map[string][]byte{contract.KeyPlanSummary: summary})
				o[0].(*corev1.Secret).Data[contract.KeyPlanArtifact] = []byte("changed")
				return o
			}(),
			err: "does not match its checksum",
		},
		{
			name: "a chunk missing",
			objs: planSecrets("j", artifact, 32, map[string][]byte{contract.KeyPlanSummary: summary})[:2],
			err:  "outputs-fetcher did not keep the plan whole: chunk 3 of 3 is missing",
		},
		{
			name: "another job's plan is not read",
			objs: planSecrets("other", nil, 32, map[string][]byte{contract.KeyPlanSummary: summary}),
			err:  "chunk 0 is missing",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &Executor{Client: fakeCluster(tc.objs...)}
			got, a, err := e.readPlan(context.Background(), "ns", "j", red)
			if tc.err != "" {
				var re *RunError
				if !errors.As(err, &re) || re.Reason != ReasonInvalidPlan || re.JobName != "j" || !strings.Contains(re.Message, tc.err) {
					t.Fatalf("err %#v, want a RunError %s with %q", err, ReasonInvalidPlan, tc.err)
				}
				if strings.Contains(re.Message, secret) {
					t.Errorf("message shows the secret: %q", re.Message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(a)
			tc.want.ArtifactSHA256 = hex.EncodeToString(sum[:])
			if *got != tc.want {
				t.Errorf("got %+v\nwant %+v", *got, tc.want)
			}
			if len(a) != tc.want.ArtifactBytes {
				t.Errorf("artifact %d bytes, want %d", len(a), tc.want.ArtifactBytes)
			}
		})
	}
}

func TestPreview_SaveLoadDelete(t *testing.T) {
	ctx := context.Background()
	e := &Executor{Client: fakeCluster()}
	artifact := bytes.Repeat([]byte{7}, contract.ChunkSize+10) // two chunks
	sum := sha256.Sum256(artifact)
	p := &PlanResult{ID: "plan-1", Text: "text", Truncated: true, Summary: contract.PlanSummary{Add: 3, HasChanges: true},
		GitCommit: "abc", ImageID: "img@sha256:1", Image: "img:1", ArtifactSHA256: hex.EncodeToString(sum[:]), ArtifactBytes: len(artifact)}
	if err := e.SavePreview(ctx, "ns", "run-1", p, artifact); err != nil {
		t.Fatal(err)
	}
	secrets, err := e.Client.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items) != 3 {
		t.Fatalf("%d secrets, want a head and two chunks", len(secrets.Items))
	}
	for _, s := range secrets.Items {
		if s.Labels[contract.LabelRunID] != "run-1" || s.Labels[contract.LabelPlanID] != previewKey("plan-1") {
			t.Errorf("%s labels %v", s.Name, s.Labels)
		}
	}

	full, err := e.LoadPreview(ctx, "ns", "plan-1", true)
	if err != nil {
		t.Fatal(err)
	}
	if full.PlanResult != *p || !bytes.Equal(full.Artifact, artifact) {
		t.Errorf("loaded %+v, want %+v (artifact %d bytes)", full.PlanResult, *p, len(full.Artifact))
	}
	head, err := e.LoadPreview(ctx, "ns", "plan-1", false)
	if err != nil || head.Artifact != nil || head.Text != "text" {
		t.Errorf("head only: %+v, %v", head, err)
	}
	if none, err := e.LoadPreview(ctx, "ns", "plan-2", true); none != nil || err != nil {
		t.Errorf("another id: %+v, %v; want nothing", none, err)
	}

	// Saving the same id again replaces the preview.
	p2 := *p
	p2.Text, p2.Truncated = "second", false
	if err := e.SavePreview(ctx, "ns", "run-1", &p2, artifact); err != nil {
		t.Fatal(err)
	}
	if got, err := e.LoadPreview(ctx, "ns", "plan-1", true); err != nil || got.Text != "second" || got.Truncated {
		t.Errorf("replaced preview: %+v, %v", got, err)
	}

	// A chunk deleted: the preview is no longer whole.
	if err := e.Client.CoreV1().Secrets("ns").Delete(ctx, previewName("plan-1")+"-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.LoadPreview(ctx, "ns", "plan-1", true); err == nil || !strings.Contains(err.Error(), "is not whole: chunk 2 of 2 is missing") {
		t.Errorf("chunk deleted: %v", err)
	}
	if err := e.DeleteRunPreviews(ctx, "ns", "run-1"); err != nil {
		t.Fatal(err)
	}
	if left, err := e.Client.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{}); err != nil || len(left.Items) != 0 {
		t.Errorf("left after DeleteRunPreviews: %v, %v", left, err)
	}
}

func TestLoadPreview_RefusesWhatIsNotAPreview(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		labels map[string]string
		data   map[string][]byte
		err    string
	}{
		{
			name:   "another plan id's label",
			labels: map[string]string{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelPlanID: previewKey("other")},
			data:   map[string][]byte{contract.KeyPlanSummary: []byte(`{}`)},
			err:    "is not the preview of plan plan-1",
		},
		{
			name:   "not managed by the provider",
			labels: map[string]string{contract.LabelPlanID: previewKey("plan-1")},
			data:   map[string][]byte{contract.KeyPlanSummary: []byte(`{}`)},
			err:    "is not the preview of plan plan-1",
		},
		{
			name:   "no summary",
			labels: map[string]string{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelPlanID: previewKey("plan-1")},
			err:    "has no valid summary",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: previewName("plan-1"), Namespace: "ns", Labels: tc.labels}, Data: tc.data}
			e := &Executor{Client: fakeCluster(s)}
			if _, err := e.LoadPreview(ctx, "ns", "plan-1", false); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
	// A checksum that does not match the chunks.
	e := &Executor{Client: fakeCluster()}
	p := &PlanResult{ID: "plan-1", ArtifactSHA256: "0000"}
	if err := e.SavePreview(ctx, "ns", "", p, []byte("artifact")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.LoadPreview(ctx, "ns", "plan-1", true); err == nil || !strings.Contains(err.Error(), "does not match its checksum") {
		t.Errorf("checksum: %v", err)
	}
}

func TestPrunePreviews_OnlyOldPreviews(t *testing.T) {
	ctx := context.Background()
	old := metav1.NewTime(time.Now().Add(-2 * PreviewMaxAge))
	fresh := metav1.NewTime(time.Now().Add(-time.Minute))
	secret := func(name string, created metav1.Time, l map[string]string) runtime.Object {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: created, Labels: l}}
	}
	preview := map[string]string{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelPlanID: "k"}
	foreign := map[string]string{contract.LabelManagedBy: "someone-else", contract.LabelPlanID: "k"}
	e := &Executor{Client: fakeCluster(
		secret("old-preview", old, preview),
		secret("fresh-preview", fresh, preview),
		secret("old-foreign", old, foreign),
		secret("old-unlabelled", old, nil),
	)}
	if err := e.PrunePreviews(ctx, "ns", PreviewMaxAge); err != nil {
		t.Fatal(err)
	}
	list, err := e.Client.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, s := range list.Items {
		left = append(left, s.Name)
	}
	sort.Strings(left)
	if strings.Join(left, ",") != "fresh-preview,old-foreign,old-unlabelled" {
		t.Errorf("left %v, want the fresh preview and what is not a preview", left)
	}
}

func TestPlanResultDigest_ChangesWithWhatIsApplied(t *testing.T) {
	base := PlanResult{ArtifactSHA256: "a", Text: "t", Summary: contract.PlanSummary{Add: 1}, GitCommit: "c", ImageID: "i",
		ID: "id", Image: "img", ArtifactBytes: 3, Created: time.Unix(1, 0)}
	d := base.Digest()
	if len(d) != 16 {
		t.Errorf("digest %q: want 16 characters", d)
	}
	for name, change := range map[string]func(p *PlanResult){
		"artifact": func(p *PlanResult) { p.ArtifactSHA256 = "b" },
		"text":     func(p *PlanResult) { p.Text = "u" },
		"summary":  func(p *PlanResult) { p.Summary.Destroy = 1 },
		"commit":   func(p *PlanResult) { p.GitCommit = "d" },
		"image id": func(p *PlanResult) { p.ImageID = "j" },
	} {
		p := base
		change(&p)
		if p.Digest() == d {
			t.Errorf("a changed %s keeps the digest", name)
		}
	}
	// What does not change what is applied does not change the digest.
	p := base
	p.ID, p.Image, p.ArtifactBytes, p.Created = "other", "other", 9, time.Unix(2, 0)
	if p.Digest() != d {
		t.Error("the id, image name, size or time changed the digest")
	}
}
