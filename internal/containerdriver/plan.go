package containerdriver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The plan action, executor side: reading what a plan run left, and keeping previews
// (plan text, summary, commit, image and artifact) in Secrets of the run's namespace,
// keyed by plan id, until the create that applies them.

// PlanResult is what a plan run previewed.
type PlanResult struct {
	// ID is the plan id the preview is kept under (PlanSpec.ID); empty when not kept.
	ID string
	// Text is the runner's plan, masked like every runner text, at most
	// contract.MaxPlanTextBytes; Truncated says that the runner wrote more.
	Text      string
	Truncated bool
	Summary   contract.PlanSummary
	// GitCommit and ImageID are what the plan ran: the create that applies the preview runs
	// the same commit and image digest. Image is the image as the kubelet reported it.
	GitCommit, ImageID, Image string
	// ArtifactSHA256 is the digest of the artifact archive (of an empty archive when the
	// runner left none); ArtifactBytes its size.
	ArtifactSHA256 string
	ArtifactBytes  int
	// Created is when the preview was kept.
	Created time.Time
}

// Preview is a kept preview with its artifact.
type Preview struct {
	PlanResult
	Artifact []byte
}

// PreviewMaxAge is how long a preview nobody applied is kept: the next preview in the same
// namespace deletes older ones.
const PreviewMaxAge = 24 * time.Hour

// readPlan reads the plan Secrets outputs-fetcher wrote for a plan Job.
func (e *Executor) readPlan(ctx context.Context, ns, job string, red *redactor) (*PlanResult, []byte, error) {
	sel := labels.Set{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelJob: job, contract.LabelRole: contract.RolePlan}.String()
	list, err := e.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, nil, fmt.Errorf("read the plan of job %s/%s: %w", ns, job, err)
	}
	fail := func(msg string) error {
		return newRunError(RunError{Namespace: ns, JobName: job, Action: contract.ActionPlan},
			&Failure{Outcome: OutcomeOutputsRejected, Container: contract.ContainerRunner, Reason: ReasonInvalidPlan, Message: red.mask(msg)}, nil)
	}
	artifact, head, err := assembleChunks(list.Items, contract.KeyPlanArtifact)
	if err != nil {
		return nil, nil, fail("outputs-fetcher did not keep the plan whole: " + err.Error())
	}
	if p := head.Data[contract.KeyProblems]; len(p) > 0 {
		var problems []string
		_ = json.Unmarshal(p, &problems)
		return nil, nil, fail("the plan run broke the contract: " + strings.Join(problems, "; ") +
			fmt.Sprintf(" (a runner with plan support writes %s and %s, and may leave files in %s)", contract.EnvPlanFile, contract.EnvPlanSummaryFile, contract.EnvPlanArtifactDir))
	}
	var sum contract.PlanSummary
	dec := json.NewDecoder(bytes.NewReader(head.Data[contract.KeyPlanSummary]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sum); err != nil {
		return nil, nil, fail(fmt.Sprintf("%s is not a plan summary %s: %v", contract.EnvPlanSummaryFile, `{"add": 0, "change": 0, "destroy": 0, "has_changes": false}`, err))
	}
	if sum.Add < 0 || sum.Change < 0 || sum.Destroy < 0 {
		return nil, nil, fail(contract.EnvPlanSummaryFile + " has a negative count")
	}
	digest := sha256.Sum256(artifact)
	if got := hex.EncodeToString(digest[:]); got != string(head.Data[contract.KeyPlanArtifactSHA256]) {
		return nil, nil, fail("the plan artifact kept does not match its checksum")
	}
	p := &PlanResult{
		Text: red.mask(string(head.Data[contract.KeyPlanText])), Truncated: string(head.Data[contract.KeyPlanTruncated]) == "true",
		Summary: sum, ArtifactSHA256: hex.EncodeToString(digest[:]), ArtifactBytes: len(artifact),
	}
	return p, artifact, nil
}

// assembleChunks concatenates key of chunk Secrets (labelled with their index, chunk 0
// annotated with the count) and returns chunk 0.
func assembleChunks(items []corev1.Secret, key string) ([]byte, *corev1.Secret, error) {
	byIndex := map[int]*corev1.Secret{}
	for i := range items {
		n, err := strconv.Atoi(items[i].Labels[contract.LabelChunkIndex])
		if err != nil || n < 0 {
			return nil, nil, fmt.Errorf("%s has no valid chunk index", items[i].Name)
		}
		byIndex[n] = &items[i]
	}
	head, ok := byIndex[0]
	if !ok {
		return nil, nil, errors.New("chunk 0 is missing")
	}
	n, err := strconv.Atoi(head.Annotations[contract.AnnotationChunks])
	if err != nil || n < 1 {
		return nil, nil, fmt.Errorf("%s has no valid chunk count", head.Name)
	}
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		c, ok := byIndex[i]
		if !ok {
			return nil, nil, fmt.Errorf("chunk %d of %d is missing", i+1, n)
		}
		buf.Write(c.Data[key])
	}
	return buf.Bytes(), head, nil
}

// previewName is the name of a kept preview's head Secret; its chunks are -0, -1...
func previewName(id string) string { return "cd-plan-" + previewKey(id) }

// previewKey is the plan id as a label value and part of a name.
func previewKey(id string) string { return contract.ShortHash(id, 24) }

func previewLabels(id, runID, role string) map[string]string {
	l := map[string]string{
		contract.LabelManagedBy: contract.ManagedByValue, contract.LabelPlanID: previewKey(id), contract.LabelRole: role,
	}
	if runID != "" {
		l[contract.LabelRunID] = runLabel(runID)
	}
	return l
}

// SavePreview keeps a preview under p.ID: the artifact chunks first, then the head, so
// that a head means a whole preview. An earlier preview of the same id is replaced.
func (e *Executor) SavePreview(ctx context.Context, ns, runID string, p *PlanResult, artifact []byte) error {
	if err := e.DeletePreview(ctx, ns, p.ID); err != nil {
		return err
	}
	secrets := e.Client.CoreV1().Secrets(ns)
	pieces := contract.Chunks(artifact, contract.ChunkSize)
	for i, c := range pieces {
		l := previewLabels(p.ID, runID, contract.RolePlanPreviewChunk)
		l[contract.LabelChunkIndex] = strconv.Itoa(i)
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", previewName(p.ID), i), Namespace: ns, Labels: l,
			Annotations: map[string]string{contract.AnnotationChunks: strconv.Itoa(len(pieces))}},
			Type: corev1.SecretTypeOpaque, Data: map[string][]byte{contract.KeyPlanArtifact: c}}
		if _, err := secrets.Create(ctx, s, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("keep the preview of plan %s: %w", p.ID, err)
		}
	}
	sum, err := json.Marshal(p.Summary)
	if err != nil {
		return err
	}
	data := map[string][]byte{
		contract.KeyPlanText: []byte(p.Text), contract.KeyPlanSummary: sum,
		contract.KeyPlanGitCommit: []byte(p.GitCommit), contract.KeyPlanImageID: []byte(p.ImageID), contract.KeyPlanImage: []byte(p.Image),
		contract.KeyPlanArtifactSHA256: []byte(p.ArtifactSHA256),
	}
	if p.Truncated {
		data[contract.KeyPlanTruncated] = []byte("true")
	}
	head := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: previewName(p.ID), Namespace: ns, Labels: previewLabels(p.ID, runID, contract.RolePlanPreview)},
		Type: corev1.SecretTypeOpaque, Data: data}
	created, err := secrets.Create(ctx, head, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("keep the preview of plan %s: %w", p.ID, err)
	}
	p.Created = created.CreationTimestamp.Time
	return nil
}

// LoadPreview returns the preview kept under id, or nil when there is none. With
// artifact, a preview that is not whole (a chunk deleted, a checksum that does not
// match) is an error; without, only the head is read (text, summary, commit, image).
func (e *Executor) LoadPreview(ctx context.Context, ns, id string, artifact bool) (*Preview, error) {
	secrets := e.Client.CoreV1().Secrets(ns)
	head, err := secrets.Get(ctx, previewName(id), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the preview of plan %s: %w", id, err)
	}
	if head.Labels[contract.LabelPlanID] != previewKey(id) || head.Labels[contract.LabelManagedBy] != contract.ManagedByValue {
		return nil, fmt.Errorf("secret %s/%s is not the preview of plan %s", ns, head.Name, id)
	}
	var sum contract.PlanSummary
	if err := json.Unmarshal(head.Data[contract.KeyPlanSummary], &sum); err != nil {
		return nil, fmt.Errorf("the preview of plan %s has no valid summary: %w", id, err)
	}
	p := &Preview{PlanResult: PlanResult{
		ID: id, Text: string(head.Data[contract.KeyPlanText]), Truncated: string(head.Data[contract.KeyPlanTruncated]) == "true",
		Summary: sum, GitCommit: string(head.Data[contract.KeyPlanGitCommit]), ImageID: string(head.Data[contract.KeyPlanImageID]),
		Image: string(head.Data[contract.KeyPlanImage]), ArtifactSHA256: string(head.Data[contract.KeyPlanArtifactSHA256]),
		Created: head.CreationTimestamp.Time,
	}}
	if !artifact {
		return p, nil
	}
	list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: labels.Set(previewLabels(id, "", contract.RolePlanPreviewChunk)).String()})
	if err != nil {
		return nil, fmt.Errorf("read the preview of plan %s: %w", id, err)
	}
	a, _, err := assembleChunks(list.Items, contract.KeyPlanArtifact)
	if err != nil {
		return nil, fmt.Errorf("the artifact of the preview of plan %s is not whole: %w", id, err)
	}
	digest := sha256.Sum256(a)
	if hex.EncodeToString(digest[:]) != p.ArtifactSHA256 {
		return nil, fmt.Errorf("the artifact of the preview of plan %s does not match its checksum", id)
	}
	p.Artifact, p.ArtifactBytes = a, len(a)
	return p, nil
}

// Digest identifies what a preview showed and would apply: its artifact, text and summary.
// Another plan run of the same inputs gives another digest (a runner's artifact records
// when it was made).
func (p *PlanResult) Digest() string {
	b, _ := json.Marshal([]any{p.ArtifactSHA256, p.Text, p.Summary, p.GitCommit, p.ImageID})
	return contract.ShortHash(string(b), 16)
}

// DeletePreview deletes the preview kept under id, if any.
func (e *Executor) DeletePreview(ctx context.Context, ns, id string) error {
	return e.deletePreviews(ctx, ns, labels.Set{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelPlanID: previewKey(id)}.String(), 0)
}

// PrunePreviews deletes the previews of namespace ns older than maxAge: previews nobody
// applied (a plan never applied, a create planned again with other inputs).
func (e *Executor) PrunePreviews(ctx context.Context, ns string, maxAge time.Duration) error {
	return e.deletePreviews(ctx, ns, contract.LabelPlanID, maxAge)
}

// DeleteRunPreviews deletes every preview of a run (its destroy leaves none behind).
func (e *Executor) DeleteRunPreviews(ctx context.Context, ns, runID string) error {
	return e.deletePreviews(ctx, ns, labels.Set{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRunID: runLabel(runID)}.String()+","+contract.LabelPlanID, 0)
}

func (e *Executor) deletePreviews(ctx context.Context, ns, selector string, olderThan time.Duration) error {
	secrets := e.Client.CoreV1().Secrets(ns)
	list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return fmt.Errorf("list previews in %s: %w", ns, err)
	}
	var errs []error
	for _, s := range list.Items {
		if s.Labels[contract.LabelManagedBy] != contract.ManagedByValue || s.Labels[contract.LabelPlanID] == "" {
			continue
		}
		if olderThan > 0 && time.Since(s.CreationTimestamp.Time) < olderThan {
			continue
		}
		if err := secrets.Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// finishPlan reads a successful plan run's result and keeps it when spec.Plan asks.
func (e *Executor) finishPlan(ctx context.Context, spec *RunSpec, res *Result, red *redactor) error {
	p, artifact, err := e.readPlan(ctx, res.Namespace, res.JobName, red)
	if err != nil {
		return err
	}
	p.GitCommit, p.ImageID, p.Image = res.GitCommit, res.ImageID, res.Image
	res.Plan = p
	if spec.Plan == nil || spec.Plan.ID == "" {
		return nil
	}
	p.ID = spec.Plan.ID
	if err := e.PrunePreviews(ctx, res.Namespace, PreviewMaxAge); err != nil {
		e.event("old previews in %s not deleted: %v", res.Namespace, err)
	}
	if err := e.SavePreview(ctx, res.Namespace, spec.RunID, p, artifact); err != nil {
		return err
	}
	e.event("kept the preview of plan %s (%d bytes of artifact) in %s", p.ID, len(artifact), res.Namespace)
	return nil
}
