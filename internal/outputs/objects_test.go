package outputs

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// exactBytes compares byte slices quickly (cmp's element-wise walk takes seconds on
// megabytes) while still telling nil from empty.
var exactBytes = cmp.Comparer(func(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) })

var testMeta = Meta{Namespace: "runners", JobName: "cd-job", JobUID: "uid-1", BaseName: "cd-job-out"}

func wantMeta(name, role string, i, n int, owned bool) metav1.ObjectMeta {
	om := metav1.ObjectMeta{
		Name: name, Namespace: "runners",
		Labels: map[string]string{
			contract.LabelManagedBy: contract.ManagedByValue, contract.LabelJob: "cd-job",
			contract.LabelRole: role, contract.LabelChunkIndex: fmt.Sprint(i),
		},
		Annotations: map[string]string{contract.AnnotationChunks: fmt.Sprint(n)},
	}
	if owned {
		om.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "cd-job", UID: "uid-1"}}
	}
	return om
}

var (
	cmType     = metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}
	secretType = metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}
)

func TestObjects(t *testing.T) {
	tests := []struct {
		name        string
		meta        Meta
		h           Harvest
		wantCMs     []*corev1.ConfigMap
		wantSecrets []*corev1.Secret
	}{
		{
			name: "everything in one chunk",
			meta: testMeta,
			h: Harvest{
				Outputs: []byte(`{"bucket":"b"}`), SecretOutputs: []byte(`{"password":"p"}`),
				ErrorText: "failed: p", Problems: []string{"x is not valid"},
			},
			wantCMs: []*corev1.ConfigMap{{
				TypeMeta: cmType, ObjectMeta: wantMeta("cd-job-out", contract.RoleOutputs, 0, 1, true),
				Data: map[string]string{
					contract.KeyOutputs: `{"bucket":"b"}`, contract.KeyProblems: `["x is not valid"]`,
					contract.KeyContractVersion: contract.Version,
				},
			}},
			wantSecrets: []*corev1.Secret{{
				TypeMeta: secretType, ObjectMeta: wantMeta("cd-job-out", contract.RoleSecretOutputs, 0, 1, true),
				Type: corev1.SecretTypeOpaque,
				Data: map[string][]byte{contract.KeyOutputs: []byte(`{"password":"p"}`), contract.KeyError: []byte("failed: p")},
			}},
		},
		{
			name: "nothing to report still makes one of each, without owner when the uid is unknown",
			meta: Meta{Namespace: "runners", JobName: "cd-job", BaseName: "cd-job-out"},
			h:    Harvest{},
			wantCMs: []*corev1.ConfigMap{{
				TypeMeta: cmType, ObjectMeta: wantMeta("cd-job-out", contract.RoleOutputs, 0, 1, false), Data: map[string]string{contract.KeyContractVersion: contract.Version},
			}},
			wantSecrets: []*corev1.Secret{{
				TypeMeta: secretType, ObjectMeta: wantMeta("cd-job-out", contract.RoleSecretOutputs, 0, 1, false),
				Type: corev1.SecretTypeOpaque, Data: map[string][]byte{},
			}},
		},
		{
			name: "large secret outputs are chunked, the error stays in chunk 0",
			meta: testMeta,
			h:    Harvest{SecretOutputs: []byte(`{"k":"` + strings.Repeat("s", contract.ChunkSize) + `"}`), ErrorText: "e"},
			wantCMs: []*corev1.ConfigMap{{
				TypeMeta: cmType, ObjectMeta: wantMeta("cd-job-out", contract.RoleOutputs, 0, 1, true), Data: map[string]string{contract.KeyContractVersion: contract.Version},
			}},
			wantSecrets: []*corev1.Secret{
				{
					TypeMeta: secretType, ObjectMeta: wantMeta("cd-job-out", contract.RoleSecretOutputs, 0, 2, true),
					Type: corev1.SecretTypeOpaque,
					Data: map[string][]byte{
						contract.KeyOutputs: []byte(`{"k":"` + strings.Repeat("s", contract.ChunkSize-6)),
						contract.KeyError:   []byte("e"),
					},
				},
				{
					TypeMeta: secretType, ObjectMeta: wantMeta("cd-job-out-1", contract.RoleSecretOutputs, 1, 2, true),
					Type: corev1.SecretTypeOpaque,
					Data: map[string][]byte{contract.KeyOutputs: []byte(strings.Repeat("s", 6) + `"}`)},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cms, secrets := Objects(tt.meta, tt.h)
			if diff := cmp.Diff(tt.wantCMs, cms, exactBytes); diff != "" {
				t.Errorf("ConfigMaps mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSecrets, secrets, exactBytes); diff != "" {
				t.Errorf("Secrets mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// bigJSON is a JSON object of about size bytes whose multi-byte characters fall across
// chunk boundaries.
func bigJSON(size int) []byte {
	var b strings.Builder
	b.WriteString(`{`)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `"k%d":"%s€ü😀",`, i, strings.Repeat("x", i%97))
	}
	b.WriteString(`"end":true}`)
	return []byte(b.String())
}

func TestObjects_RoundTripThroughAssemble(t *testing.T) {
	threeMB := bigJSON(3 * 1024 * 1024)
	tests := []struct {
		name           string
		h              Harvest
		wantCMs, wantS int
	}{
		{name: "empty", h: Harvest{}, wantCMs: 1, wantS: 1},
		{name: "small", h: Harvest{
			Outputs: []byte(`{"a":1}`), SecretOutputs: []byte(`{"b":2}`), ErrorText: "err",
			Problems: []string{"p1", "p2"},
		}, wantCMs: 1, wantS: 1},
		{name: "3 MB outputs", h: Harvest{Outputs: threeMB, SecretOutputs: []byte(`{}`)}, wantCMs: 7, wantS: 1},
		{name: "3 MB secret outputs", h: Harvest{SecretOutputs: threeMB, ErrorText: "e"}, wantCMs: 1, wantS: 7},
		{name: "exactly one chunk", h: Harvest{Outputs: []byte(`"` + strings.Repeat("x", contract.ChunkSize-2) + `"`)}, wantCMs: 1, wantS: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmPtrs, secretPtrs := Objects(testMeta, tt.h)
			if len(cmPtrs) != tt.wantCMs || len(secretPtrs) != tt.wantS {
				t.Fatalf("got %d ConfigMaps and %d Secrets, want %d and %d", len(cmPtrs), len(secretPtrs), tt.wantCMs, tt.wantS)
			}
			var cms []corev1.ConfigMap
			for _, cm := range cmPtrs {
				if v := cm.Data[contract.KeyOutputs]; len(v) > contract.ChunkSize || !utf8.ValidString(v) {
					t.Errorf("ConfigMap %s holds %d bytes (valid UTF-8: %v)", cm.Name, len(v), utf8.ValidString(v))
				}
				cms = append(cms, *cm)
			}
			var secrets []corev1.Secret
			// Reverse the order, as a List might: Assemble orders by index.
			for i := len(secretPtrs) - 1; i >= 0; i-- {
				if n := len(secretPtrs[i].Data[contract.KeyOutputs]); n > contract.ChunkSize {
					t.Errorf("Secret %s holds %d bytes", secretPtrs[i].Name, n)
				}
				secrets = append(secrets, *secretPtrs[i])
			}
			got, err := Assemble(cms, secrets)
			if err != nil {
				t.Fatalf("Assemble: %v", err)
			}
			want := tt.h
			want.ContractVersion = contract.Version
			if diff := cmp.Diff(&want, got, exactBytes); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAssemble_Errors(t *testing.T) {
	base := func() ([]corev1.ConfigMap, []corev1.Secret) {
		cmPtrs, secretPtrs := Objects(testMeta, Harvest{Outputs: bigJSON(3 * contract.ChunkSize), SecretOutputs: []byte(`{}`)})
		var cms []corev1.ConfigMap
		for _, cm := range cmPtrs {
			cms = append(cms, *cm)
		}
		var secrets []corev1.Secret
		for _, s := range secretPtrs {
			secrets = append(secrets, *s)
		}
		return cms, secrets
	}
	tests := []struct {
		name    string
		edit    func(cms []corev1.ConfigMap, secrets []corev1.Secret) ([]corev1.ConfigMap, []corev1.Secret)
		wantErr string
		is      error
	}{
		{
			name: "no objects",
			edit: func([]corev1.ConfigMap, []corev1.Secret) ([]corev1.ConfigMap, []corev1.Secret) {
				return nil, nil
			},
			wantErr: "no outputs ConfigMap or Secret found", is: ErrNoObjects,
		},
		{
			name: "only other roles",
			edit: func([]corev1.ConfigMap, []corev1.Secret) ([]corev1.ConfigMap, []corev1.Secret) {
				return []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Name: "files", Labels: map[string]string{contract.LabelRole: contract.RoleFiles}}}}, nil
			},
			wantErr: "no outputs ConfigMap or Secret found", is: ErrNoObjects,
		},
		{
			name: "missing chunk",
			edit: func(cms []corev1.ConfigMap, s []corev1.Secret) ([]corev1.ConfigMap, []corev1.Secret) {
				return append(cms[:2:2], cms[3:]...), s
			},
			wantErr: "outputs ConfigMap chunks missing: cd-job-out-2 (4 expected)",
		},
		{
			name: "missing chunk 0",
			edit: func(cms []corev1.ConfigMap, s []corev1.Secret) ([]corev1.ConfigMap, []corev1.Secret) {
				return cms[1:], s
			},
			wantErr: "outputs ConfigMap chunk 0 is missing (found only cd-job-out-1, cd-job-out-2, cd-job-out-3)",
		},
		{
			name: "missing secret",
			edit: func(cms []corev1.ConfigMap, s []corev1.Secret) ([]corev1.ConfigMap, []corev1.Secret) {
				return cms, nil
			},
			wantErr: "secret outputs Secret chunk 0 is missing: no object with role secret-outputs",
		},
		{
			name: "duplicated chunk",
			edit: func(cms []corev1.ConfigMap, s []corev1.Secret) ([]corev1.ConfigMap, []corev1.Secret) {
				dup := *cms[1].DeepCopy()
				dup.Name = "other"
				return append(cms, dup), s
			},
			wantErr: "outputs ConfigMap chunk 1 of 4 is duplicated: cd-job-out-1 and other",
		},
		{
			name: "chunk of another job",
			edit: func(cms []corev1.ConfigMap, s []corev1.Secret) ([]corev1.ConfigMap, []corev1.Secret) {
				cms[3].Labels[contract.LabelJob] = "cd-other"
				return cms, s
			},
			wantErr: `outputs ConfigMap cd-job-out-3 belongs to Job "cd-other" but cd-job-out to Job "cd-job"`,
		},
		{
			name: "disagreeing counts",
			edit: func(cms []corev1.ConfigMap, s []corev1.Secret) ([]corev1.ConfigMap, []corev1.Secret) {
				cms[1].Annotations[contract.AnnotationChunks] = "2"
				return cms, s
			},
			wantErr: "outputs ConfigMap cd-job-out-1 says there are 2 chunks but cd-job-out says 4",
		},
		{
			name: "bad index label",
			edit: func(cms []corev1.ConfigMap, s []corev1.Secret) ([]corev1.ConfigMap, []corev1.Secret) {
				cms[2].Labels[contract.LabelChunkIndex] = "two"
				return cms, s
			},
			wantErr: "outputs ConfigMap cd-job-out-2 has no valid containerdriver.io/chunk-index label",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cms, secrets := tt.edit(base())
			got, err := Assemble(cms, secrets)
			if err == nil {
				t.Fatalf("Assemble() = %+v, want error %q", got, tt.wantErr)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("error = %q, want %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", err, tt.is)
			}
		})
	}
}

// A pod the Job replaced may have left more chunks than the last one wrote; chunk 0's count
// rules, and other roles of the Job are ignored.
func TestAssemble_IgnoresLeftoversAndOtherRoles(t *testing.T) {
	h := Harvest{Outputs: []byte(`{"new":true}`)}
	cmPtrs, secretPtrs := Objects(testMeta, h)
	oldCMs, _ := Objects(testMeta, Harvest{Outputs: bigJSON(2 * contract.ChunkSize)})
	cms := []corev1.ConfigMap{
		*oldCMs[2], *cmPtrs[0], *oldCMs[1],
		{ObjectMeta: metav1.ObjectMeta{Name: "cd-job-files", Labels: map[string]string{contract.LabelRole: contract.RoleFiles}}},
	}
	secrets := []corev1.Secret{
		*secretPtrs[0],
		{ObjectMeta: metav1.ObjectMeta{Name: "cd-job-inputs", Labels: map[string]string{contract.LabelRole: contract.RoleInputs}}},
	}
	got, err := Assemble(cms, secrets)
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	h.ContractVersion = contract.Version
	if diff := cmp.Diff(&h, got, exactBytes); diff != "" {
		t.Errorf("Assemble() mismatch (-want +got):\n%s", diff)
	}
}
