package outputs

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// Meta identifies where the outputs objects of a Job go.
type Meta struct {
	// Namespace is the Job's namespace.
	Namespace string
	// JobName is the Job's name; it becomes the contract.LabelJob label.
	JobName string
	// JobUID is the Job's UID; when set, every object is owned by the Job and is garbage
	// collected with it.
	JobUID string
	// BaseName is the name of chunk 0 (contract.OutputsObjectName); chunk i is
	// contract.ChunkName(BaseName, i).
	BaseName string
}

// ErrNoObjects is wrapped by Assemble when it is given no outputs object at all: the
// sidecar never stored anything.
var ErrNoObjects = errors.New("no outputs ConfigMap or Secret found")

// Objects encodes h as ConfigMaps (outputs, problems) and Secrets (secret
// outputs, error text), in chunk order. There is always at least one of each, so the reader
// can tell "nothing to report" from "nothing stored". Chunk 0 carries the small keys;
// every chunk carries the chunk count. A writer should create chunk 0 last, so that its
// presence means the others are there.
func Objects(m Meta, h Harvest) ([]*corev1.ConfigMap, []*corev1.Secret) {
	outChunks := contract.TextChunks(h.Outputs, contract.ChunkSize)
	cms := make([]*corev1.ConfigMap, len(outChunks))
	for i, c := range outChunks {
		cm := &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: objectMeta(m, contract.RoleOutputs, i, len(outChunks)),
			Data:       map[string]string{},
		}
		if len(c) > 0 {
			cm.Data[contract.KeyOutputs] = string(c)
		}
		if i == 0 {
			cm.Data[contract.KeyContractVersion] = contract.Version
			if h.StateBytes > 0 {
				cm.Data[contract.KeyStateBytes] = strconv.FormatInt(h.StateBytes, 10)
			}
			if h.StateError != "" {
				cm.Data[contract.KeyStateError] = h.StateError
			}
			if len(h.Problems) > 0 {
				p, _ := json.Marshal(h.Problems) // a []string always marshals
				cm.Data[contract.KeyProblems] = string(p)
			}
		}
		cms[i] = cm
	}

	secChunks := contract.TextChunks(h.SecretOutputs, contract.ChunkSize)
	secrets := make([]*corev1.Secret, len(secChunks))
	for i, c := range secChunks {
		s := &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: objectMeta(m, contract.RoleSecretOutputs, i, len(secChunks)),
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{},
		}
		if len(c) > 0 {
			s.Data[contract.KeyOutputs] = c
		}
		if i == 0 && h.ErrorText != "" {
			s.Data[contract.KeyError] = []byte(h.ErrorText)
		}
		secrets[i] = s
	}
	return cms, secrets
}

func objectMeta(m Meta, role string, i, n int) metav1.ObjectMeta {
	om := metav1.ObjectMeta{
		Name:      contract.ChunkName(m.BaseName, i),
		Namespace: m.Namespace,
		Labels: map[string]string{
			contract.LabelManagedBy:  contract.ManagedByValue,
			contract.LabelJob:        m.JobName,
			contract.LabelRole:       role,
			contract.LabelChunkIndex: strconv.Itoa(i),
		},
		Annotations: map[string]string{contract.AnnotationChunks: strconv.Itoa(n)},
	}
	if m.JobUID != "" {
		// No BlockOwnerDeletion: setting it needs delete rights on the Job, which the
		// Job's service account does not have.
		om.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: "batch/v1", Kind: "Job", Name: m.JobName, UID: types.UID(m.JobUID),
		}}
	}
	return om
}

// chunk is what Assemble needs of a ConfigMap or a Secret.
type chunk struct {
	name, job string
	index, n  int
	indexErr  error
	countErr  error
	outputs   []byte
	extra     map[string][]byte
}

func newChunk(om metav1.ObjectMeta, data map[string][]byte) chunk {
	c := chunk{name: om.Name, job: om.Labels[contract.LabelJob], extra: data}
	var err error
	if c.index, err = strconv.Atoi(om.Labels[contract.LabelChunkIndex]); err != nil || c.index < 0 {
		c.indexErr = fmt.Errorf("%s has no valid %s label", om.Name, contract.LabelChunkIndex)
	}
	if c.n, err = strconv.Atoi(om.Annotations[contract.AnnotationChunks]); err != nil || c.n < 1 {
		c.countErr = fmt.Errorf("%s has no valid %s annotation", om.Name, contract.AnnotationChunks)
	}
	c.outputs = data[contract.KeyOutputs]
	return c
}

// Assemble reassembles a Harvest from the objects Objects made, in chunk index order. The
// lists may hold other objects of the Job: only those with the outputs roles are used.
// Chunk 0 says how many chunks there are; a missing or duplicated chunk, or chunks from
// different Jobs, is an error naming the object. Chunks numbered beyond the count are
// leftovers from an earlier attempt and are ignored. With no outputs object at all the
// error wraps ErrNoObjects.
func Assemble(cms []corev1.ConfigMap, secrets []corev1.Secret) (*Harvest, error) {
	var cmChunks, secChunks []chunk
	for _, cm := range cms {
		if cm.Labels[contract.LabelRole] != contract.RoleOutputs {
			continue
		}
		data := make(map[string][]byte, len(cm.Data))
		for k, v := range cm.Data {
			data[k] = []byte(v)
		}
		for k, v := range cm.BinaryData {
			data[k] = v
		}
		cmChunks = append(cmChunks, newChunk(cm.ObjectMeta, data))
	}
	for _, s := range secrets {
		if s.Labels[contract.LabelRole] != contract.RoleSecretOutputs {
			continue
		}
		secChunks = append(secChunks, newChunk(s.ObjectMeta, s.Data))
	}
	if len(cmChunks) == 0 && len(secChunks) == 0 {
		return nil, ErrNoObjects
	}
	cmOrdered, err := order("outputs ConfigMap", contract.RoleOutputs, cmChunks)
	if err != nil {
		return nil, err
	}
	secOrdered, err := order("secret outputs Secret", contract.RoleSecretOutputs, secChunks)
	if err != nil {
		return nil, err
	}
	if a, b := cmOrdered[0], secOrdered[0]; a.job != b.job {
		return nil, fmt.Errorf("outputs ConfigMap %s belongs to Job %q but Secret %s to Job %q", a.name, a.job, b.name, b.job)
	}

	h := &Harvest{
		Outputs:       concat(cmOrdered),
		SecretOutputs: concat(secOrdered),
		ErrorText:     string(secOrdered[0].extra[contract.KeyError]),
	}
	h.StateError = string(cmOrdered[0].extra[contract.KeyStateError])
	h.ContractVersion = string(cmOrdered[0].extra[contract.KeyContractVersion])
	if v, ok := cmOrdered[0].extra[contract.KeyStateBytes]; ok {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("outputs ConfigMap %s: key %s is not a number", cmOrdered[0].name, contract.KeyStateBytes)
		}
		h.StateBytes = n
	}
	if p, ok := cmOrdered[0].extra[contract.KeyProblems]; ok {
		if err := json.Unmarshal(p, &h.Problems); err != nil {
			return nil, fmt.Errorf("outputs ConfigMap %s: key %s is not a JSON list of strings: %w", cmOrdered[0].name, contract.KeyProblems, err)
		}
	}
	return h, nil
}

// order returns the chunks 0..n-1 of one kind, n being chunk 0's count.
func order(kind, role string, chunks []chunk) ([]chunk, error) {
	byIndex := map[int][]chunk{}
	for _, c := range chunks {
		if c.indexErr != nil {
			return nil, fmt.Errorf("%s %w", kind, c.indexErr)
		}
		byIndex[c.index] = append(byIndex[c.index], c)
	}
	first, ok := byIndex[0]
	if !ok {
		var have []string
		for _, c := range chunks {
			have = append(have, c.name)
		}
		sort.Strings(have)
		if len(have) == 0 {
			return nil, fmt.Errorf("%s chunk 0 is missing: no object with role %s", kind, role)
		}
		return nil, fmt.Errorf("%s chunk 0 is missing (found only %s)", kind, strings.Join(have, ", "))
	}
	if len(first) > 1 {
		return nil, fmt.Errorf("%s chunk 0 is duplicated: %s and %s", kind, first[0].name, first[1].name)
	}
	c0 := first[0]
	if c0.countErr != nil {
		return nil, fmt.Errorf("%s %w", kind, c0.countErr)
	}
	out := make([]chunk, c0.n)
	var missing []string
	for i := 0; i < c0.n; i++ {
		cs := byIndex[i]
		switch {
		case len(cs) == 0:
			missing = append(missing, contract.ChunkName(c0.name, i))
			continue
		case len(cs) > 1:
			return nil, fmt.Errorf("%s chunk %d of %d is duplicated: %s and %s", kind, i, c0.n, cs[0].name, cs[1].name)
		}
		c := cs[0]
		if c.countErr != nil {
			return nil, fmt.Errorf("%s %w", kind, c.countErr)
		}
		if c.n != c0.n {
			return nil, fmt.Errorf("%s %s says there are %d chunks but %s says %d", kind, c.name, c.n, c0.name, c0.n)
		}
		if c.job != c0.job {
			return nil, fmt.Errorf("%s %s belongs to Job %q but %s to Job %q", kind, c.name, c.job, c0.name, c0.job)
		}
		out[i] = c
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s chunks missing: %s (%d expected)", kind, strings.Join(missing, ", "), c0.n)
	}
	return out, nil
}

func concat(chunks []chunk) []byte {
	n := 0
	for _, c := range chunks {
		n += len(c.outputs)
	}
	if n == 0 {
		return nil
	}
	b := make([]byte, 0, n)
	for _, c := range chunks {
		b = append(b, c.outputs...)
	}
	return b
}
