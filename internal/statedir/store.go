package statedir

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// Keys of the state Secrets (their labels are in internal/contract). The head Secret names
// the current generation; chunk Secrets hold the archive. A save writes a complete new
// generation first and then switches the head in one update, so a failed save leaves the
// previous state whole.
const (
	keyGeneration     = "generation"
	keyChunks         = "chunks"
	keySHA256         = "sha256"
	keySize           = "size"
	keyData           = "data"
	chunkIndexLabel   = contract.LabelChunkIndex
	generationHexSize = 8
)

// ErrCorrupt marks a saved state that cannot be what a save wrote (a malformed head, a
// chunk without its index, a checksum that does not match, an archive that does not
// extract): reading it again gives the same bytes, so callers must not retry.
var ErrCorrupt = errors.New("the saved state is corrupt")

// staleGeneration is the age after which a generation the head does not point at is
// garbage for sure: no save takes that long.
const staleGeneration = 15 * time.Minute

// Secrets is the part of a client of one namespace's Secrets the store calls; client-go's
// typed SecretInterface satisfies it, and so does the sidecars' smaller client.
type Secrets interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Secret, error)
	List(ctx context.Context, opts metav1.ListOptions) (*corev1.SecretList, error)
	Create(ctx context.Context, secret *corev1.Secret, opts metav1.CreateOptions) (*corev1.Secret, error)
	Update(ctx context.Context, secret *corev1.Secret, opts metav1.UpdateOptions) (*corev1.Secret, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// Store keeps one run's state archive in a namespace.
type Store struct {
	// Secrets is a client of Namespace's Secrets.
	Secrets   Secrets
	Namespace string
	// RunID is the identity of the resource whose state this is.
	RunID string
}

// HeadName is the name of the Secret that points at the current state generation.
func HeadName(runID string) string { return "cd-state-" + contract.ShortHash(runID, 16) }

func (s *Store) key() string { return contract.ShortHash(s.RunID, 16) }

func (s *Store) labels(role string) map[string]string {
	return map[string]string{
		contract.LabelManagedBy: contract.ManagedByValue,
		contract.LabelStateOf:   s.key(),
		contract.LabelRole:      role,
	}
}

// Save stores data as the new state and returns its generation. Older generations are
// deleted only after the head points at the new one.
func (s *Store) Save(ctx context.Context, data []byte) (string, error) {
	gen, err := newGeneration()
	if err != nil {
		return "", err
	}
	secrets := s.Secrets
	chunks := contract.Chunks(data, contract.ChunkSize)
	for i, c := range chunks {
		l := s.labels(contract.RoleStateChunk)
		l[contract.LabelStateGeneration] = gen
		l[chunkIndexLabel] = strconv.Itoa(i)
		obj := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%s-%d", HeadName(s.RunID), gen, i), Namespace: s.Namespace, Labels: l},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{keyData: c},
		}
		if _, err := secrets.Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			s.deleteGeneration(context.WithoutCancel(ctx), gen)
			return "", fmt.Errorf("save state chunk %d of %d: %w", i+1, len(chunks), err)
		}
	}
	sum := sha256.Sum256(data)
	headData := map[string][]byte{
		keyGeneration: []byte(gen),
		keyChunks:     []byte(strconv.Itoa(len(chunks))),
		keySHA256:     []byte(hex.EncodeToString(sum[:])),
		keySize:       []byte(strconv.Itoa(len(data))),
	}
	head, err := secrets.Get(ctx, HeadName(s.RunID), metav1.GetOptions{})
	prev := ""
	if err == nil {
		prev = string(head.Data[keyGeneration])
	}
	switch {
	case apierrors.IsNotFound(err):
		_, err = secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: HeadName(s.RunID), Namespace: s.Namespace, Labels: s.labels(contract.RoleStateHead)},
			Type:       corev1.SecretTypeOpaque,
			Data:       headData,
		}, metav1.CreateOptions{})
	case err == nil:
		// Update carries the resourceVersion read above: a concurrent save makes this
		// one fail instead of silently interleaving.
		head.Data = headData
		_, err = secrets.Update(ctx, head, metav1.UpdateOptions{})
	}
	if err != nil {
		s.deleteGeneration(context.WithoutCancel(ctx), gen)
		return "", fmt.Errorf("switch state to the new generation: %w", err)
	}
	// The generation replaced is garbage now, and so are generations a crashed save left
	// long ago. A generation another save is writing right now is not touched: that save
	// then fails to switch the head (its resourceVersion is stale) and removes its own.
	// A failure here only leaves garbage behind.
	old, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: labels.Set(s.labels(contract.RoleStateChunk)).String()})
	if err == nil {
		for _, o := range old.Items {
			g := o.Labels[contract.LabelStateGeneration]
			if g == gen {
				continue
			}
			if g == prev || time.Since(o.CreationTimestamp.Time) > staleGeneration {
				_ = secrets.Delete(ctx, o.Name, metav1.DeleteOptions{})
			}
		}
	}
	return gen, nil
}

func (s *Store) deleteGeneration(ctx context.Context, gen string) {
	l := s.labels(contract.RoleStateChunk)
	l[contract.LabelStateGeneration] = gen
	list, err := s.Secrets.List(ctx, metav1.ListOptions{LabelSelector: labels.Set(l).String()})
	if err != nil {
		return
	}
	for _, o := range list.Items {
		_ = s.Secrets.Delete(ctx, o.Name, metav1.DeleteOptions{})
	}
}

// Load returns the current state archive, or nil when none was saved.
func (s *Store) Load(ctx context.Context) ([]byte, error) {
	secrets := s.Secrets
	head, err := secrets.Get(ctx, HeadName(s.RunID), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state head %s: %w", HeadName(s.RunID), err)
	}
	gen := string(head.Data[keyGeneration])
	n, err := strconv.Atoi(string(head.Data[keyChunks]))
	if err != nil || gen == "" {
		return nil, fmt.Errorf("%w: state head %s is malformed", ErrCorrupt, head.Name)
	}
	l := s.labels(contract.RoleStateChunk)
	l[contract.LabelStateGeneration] = gen
	list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: labels.Set(l).String()})
	if err != nil {
		return nil, fmt.Errorf("list state chunks: %w", err)
	}
	byIndex := map[int][]byte{}
	for _, o := range list.Items {
		i, err := strconv.Atoi(o.Labels[chunkIndexLabel])
		if err != nil {
			return nil, fmt.Errorf("%w: state chunk %s has no index", ErrCorrupt, o.Name)
		}
		byIndex[i] = o.Data[keyData]
	}
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		c, ok := byIndex[i]
		if !ok {
			return nil, fmt.Errorf("state generation %s is missing chunk %d of %d", gen, i+1, n)
		}
		buf.Write(c)
	}
	sum := sha256.Sum256(buf.Bytes())
	if hex.EncodeToString(sum[:]) != string(head.Data[keySHA256]) {
		return nil, fmt.Errorf("%w: state generation %s does not match its checksum", ErrCorrupt, gen)
	}
	return buf.Bytes(), nil
}

// Delete removes the head and every chunk of the run's state.
func (s *Store) Delete(ctx context.Context) error {
	secrets := s.Secrets
	var errs []error
	if err := secrets.Delete(ctx, HeadName(s.RunID), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, err)
	}
	list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: labels.Set{contract.LabelStateOf: s.key()}.String()})
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, o := range list.Items {
		if err := secrets.Delete(ctx, o.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func newGeneration() (string, error) {
	b := make([]byte, generationHexSize/2)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// SaveDir archives dir and saves it as the new state; it returns the archive's size.
func (s *Store) SaveDir(ctx context.Context, dir string) (int64, error) {
	data, err := Archive(dir)
	if err != nil {
		return 0, err
	}
	if _, err := s.Save(ctx, data); err != nil {
		return 0, err
	}
	return int64(len(data)), nil
}

// RestoreDir writes the saved state, if any, into dir; it returns the archive's size.
func (s *Store) RestoreDir(ctx context.Context, dir string) (int64, error) {
	data, err := s.Load(ctx)
	if err != nil || data == nil {
		return 0, err
	}
	return int64(len(data)), Extract(data, dir)
}
