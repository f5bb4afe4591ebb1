package staterestore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"strconv"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
)

// planConfig: PLAN_ARTIFACT_DIR is made (empty, for a plan run), and filled with the
// handed artifact when its chunks are mounted (a create applying a preview).
type planConfig struct {
	ArtifactDir, Source, SHA256 string
}

func planConfigFromEnv(getenv func(string) string) *planConfig {
	if getenv(contract.EnvPlanArtifactDir) == "" {
		return nil
	}
	return &planConfig{
		ArtifactDir: getenv(contract.EnvPlanArtifactDir),
		Source:      getenv(contract.EnvPlanArtifactSource),
		SHA256:      getenv(contract.EnvPlanArtifactSHA256),
	}
}

// preparePlanArtifact makes PLAN_ARTIFACT_DIR and extracts the handed artifact into it.
// The directory must not be there already (a source checkout holding one would hand the
// runner an artifact nobody previewed).
func preparePlanArtifact(p *planConfig, logger *log.Logger) error {
	if _, err := os.Lstat(p.ArtifactDir); err == nil {
		return fmt.Errorf("%s exists before the plan artifact was prepared (does the source hold it?): remove it from the source", p.ArtifactDir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("prepare %s: %w", p.ArtifactDir, err)
	}
	if err := os.Mkdir(p.ArtifactDir, 0o700); err != nil {
		return fmt.Errorf("make %s: %w", p.ArtifactDir, err)
	}
	// The runner may run as another user of the pod (a pod template's runAsUser): the
	// directory is the shared directory's, whose root is writable by all too.
	if err := os.Chmod(p.ArtifactDir, 0o777); err != nil {
		return fmt.Errorf("make %s: %w", p.ArtifactDir, err)
	}
	if p.Source == "" {
		logger.Printf("made the empty plan artifact directory %s", p.ArtifactDir)
		return nil
	}
	var buf bytes.Buffer
	for i := 0; ; i++ {
		b, err := os.ReadFile(filepath.Join(p.Source, strconv.Itoa(i), contract.KeyPlanArtifact))
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return fmt.Errorf("read plan artifact chunk %d: %w", i, err)
		}
		buf.Write(b)
	}
	sum := sha256.Sum256(buf.Bytes())
	if got := hex.EncodeToString(sum[:]); got != p.SHA256 {
		return fmt.Errorf("the plan artifact handed to this run does not match its checksum (%d bytes, sha256 %s, want %s)", buf.Len(), got, p.SHA256)
	}
	if err := statedir.Extract(buf.Bytes(), p.ArtifactDir); err != nil {
		return fmt.Errorf("extract the plan artifact into %s: %w", p.ArtifactDir, err)
	}
	logger.Printf("restored the plan artifact (%d bytes) into %s", buf.Len(), p.ArtifactDir)
	return nil
}
