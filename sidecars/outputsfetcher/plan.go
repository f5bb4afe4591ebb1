package outputsfetcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"syscall"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
)

// maxPlanSummaryBytes bounds PLAN_SUMMARY_FILE: four numbers and a flag.
const maxPlanSummaryBytes = 4 * 1024

// planConfig is set in a plan Job (ACTION=plan): where the runner left its plan.
type planConfig struct {
	File, SummaryFile, ArtifactDir string
}

// planConfigFromEnv is nil unless the executor gave outputs-fetcher the plan files, which
// it does in plan Jobs only.
func planConfigFromEnv(getenv func(string) string) *planConfig {
	if getenv(contract.EnvPlanFile) == "" {
		return nil
	}
	return &planConfig{
		File:        getenv(contract.EnvPlanFile),
		SummaryFile: getenv(contract.EnvPlanSummaryFile),
		ArtifactDir: getenv(contract.EnvPlanArtifactDir),
	}
}

// planObjects reads what a plan run left (the plan text, cut to MaxPlanTextBytes; the
// summary; the artifact directory as an archive) into Secrets owned by the Job, chunk 0
// last. Files are read without following symbolic links: the runner must not make this
// sidecar, which holds an API token, read anything but what it wrote. What cannot be
// read is a problem, stored with the rest; the executor judges it.
func planObjects(cfg config, p *planConfig) []*corev1.Secret {
	var problems []string
	text, truncated := readPlanText(p.File, &problems)
	summary, _ := readNoFollow(p.SummaryFile, maxPlanSummaryBytes, &problems)
	var artifact []byte
	if st, err := os.Lstat(p.ArtifactDir); err == nil && st.IsDir() {
		a, err := statedir.Archive(p.ArtifactDir)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("plan artifact %s: %v", p.ArtifactDir, err))
		case len(a) > contract.MaxPlanArtifactBytes:
			problems = append(problems, fmt.Sprintf("plan artifact %s is %d bytes compressed, more than the %d allowed; it was not kept",
				p.ArtifactDir, len(a), contract.MaxPlanArtifactBytes))
		default:
			artifact = a
		}
	} else if err == nil {
		problems = append(problems, fmt.Sprintf("plan artifact %s is not a directory", p.ArtifactDir))
	}
	sum := sha256.Sum256(artifact)
	pieces := contract.Chunks(artifact, contract.ChunkSize)
	base := contract.PlanObjectName(cfg.JobName)
	out := make([]*corev1.Secret, len(pieces))
	for i, c := range pieces {
		om := metav1.ObjectMeta{
			Name: contract.ChunkName(base, i), Namespace: cfg.Namespace,
			Labels: map[string]string{
				contract.LabelManagedBy: contract.ManagedByValue, contract.LabelJob: cfg.JobName,
				contract.LabelRole: contract.RolePlan, contract.LabelChunkIndex: strconv.Itoa(i),
			},
			Annotations: map[string]string{contract.AnnotationChunks: strconv.Itoa(len(pieces))},
		}
		if cfg.JobUID != "" {
			om.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: cfg.JobName, UID: types.UID(cfg.JobUID)}}
		}
		s := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: om, Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{contract.KeyPlanArtifact: c}}
		if i == 0 {
			s.Data[contract.KeyPlanText] = text
			s.Data[contract.KeyPlanSummary] = summary
			s.Data[contract.KeyPlanArtifactSHA256] = []byte(hex.EncodeToString(sum[:]))
			if truncated {
				s.Data[contract.KeyPlanTruncated] = []byte("true")
			}
			if len(problems) > 0 {
				s.Data[contract.KeyProblems] = problemsJSON(problems)
			}
		}
		out[i] = s
	}
	// Chunk 0 last: once it exists, the others do.
	return append(out[1:], out[0])
}

// storePlan writes the plan Secrets.
func (s *storer) storePlan(ctx context.Context, p *planConfig) error {
	for _, sec := range planObjects(s.cfg, p) {
		if err := s.secret(ctx, sec); err != nil {
			return err
		}
	}
	return nil
}

// readPlanText reads the head of the plan text, at most MaxPlanTextBytes, ending on a
// character boundary; truncated says that more was left out.
func readPlanText(name string, problems *[]string) ([]byte, bool) {
	b, _ := readNoFollow(name, contract.MaxPlanTextBytes+1, problems)
	if len(b) <= contract.MaxPlanTextBytes {
		return b, false
	}
	b = b[:contract.MaxPlanTextBytes]
	for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1]
	}
	return b, true
}

// readNoFollow reads at most limit bytes of name, refusing a symbolic link. An absent
// file is a problem: a runner with plan support writes both plan files.
func readNoFollow(name string, limit int64, problems *[]string) ([]byte, bool) {
	if name == "" {
		return nil, false
	}
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		*problems = append(*problems, fmt.Sprintf("%s was not written", name))
		return nil, false
	}
	if err != nil {
		*problems = append(*problems, fmt.Sprintf("could not read %s (a plan file must be a regular file, not a symbolic link): %v", name, err))
		return nil, false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		*problems = append(*problems, fmt.Sprintf("%s is not a regular file", name))
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		*problems = append(*problems, fmt.Sprintf("could not read %s: %v", name, err))
		return nil, false
	}
	return b, true
}

func problemsJSON(p []string) []byte {
	b, _ := json.Marshal(p) // a []string always marshals
	return b
}
