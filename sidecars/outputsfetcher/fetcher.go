package outputsfetcher

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/apiretry"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube"
)

const (
	// storeTimeout bounds the whole store phase: it must end well within the pod's
	// termination grace period (30 s by default) so the kubelet does not kill us midway.
	storeTimeout = 20 * time.Second
	// requestTimeout bounds a single API request.
	requestTimeout = 5 * time.Second
)

// config is what outputs-fetcher needs to know, from its environment.
type config struct {
	Namespace, JobName, JobUID, BaseName string
	// SharedDir is SCRIPTS_DIRECTORY: the runner's files are read only as regular files
	// inside it (internal/sharedfile).
	SharedDir                                 string
	OutputsFile, SecretOutputsFile, ErrorFile string
	// StatePath and RunID are set when the run keeps a state directory.
	StatePath, RunID string
	// StateRestoredFile is state-restore's marker; the state is saved only when it exists.
	StateRestoredFile string
	// OutputsFormat is "json" or contract.OutputsFormatJSONOrYAML.
	OutputsFormat string
	// StoreTimeout bounds the store phase: saving the state (at most half of it) and
	// storing the outputs.
	StoreTimeout time.Duration
	// FirstBackoff is the first pause between retries; it doubles up to apiretry.MaxPause.
	FirstBackoff time.Duration
	// Plan is set in plan Jobs (plan.go).
	Plan *planConfig
}

// configFromEnv reads the sidecar's environment. The file variables default to their
// place in SCRIPTS_DIRECTORY.
func configFromEnv(getenv func(string) string) (config, error) {
	file := contract.Env(getenv).File
	cfg := config{
		Namespace:         getenv(contract.EnvPodNamespace),
		JobName:           getenv(contract.EnvJobName),
		JobUID:            getenv(contract.EnvJobUID),
		BaseName:          getenv(contract.EnvOutputsObject),
		OutputsFile:       file(contract.EnvOutputsFile, contract.OutputsFile),
		SecretOutputsFile: file(contract.EnvSecretOutputsFile, contract.SecretOutputsFile),
		ErrorFile:         file(contract.EnvErrorFile, contract.ErrorFile),
		SharedDir:         getenv(contract.EnvScriptsDirectory),
		StatePath:         getenv(contract.EnvStatePath),
		StateRestoredFile: file("", contract.StateRestoredFile),
		RunID:             getenv(contract.EnvRunID),
		OutputsFormat:     getenv(contract.EnvOutputsFormat),
		StoreTimeout:      storeTimeout,
		FirstBackoff:      apiretry.FirstPause,
		Plan:              planConfigFromEnv(getenv),
	}
	if cfg.BaseName == "" && cfg.JobName != "" {
		cfg.BaseName = contract.OutputsObjectName(cfg.JobName)
	}
	var missing []string
	for _, v := range []struct{ name, val string }{
		{contract.EnvPodNamespace, cfg.Namespace},
		{contract.EnvJobName, cfg.JobName},
		{contract.EnvScriptsDirectory, cfg.SharedDir},
		{contract.EnvOutputsFile, cfg.OutputsFile},
		{contract.EnvSecretOutputsFile, cfg.SecretOutputsFile},
		{contract.EnvErrorFile, cfg.ErrorFile},
	} {
		if v.val == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return config{}, fmt.Errorf("environment variables not set: %s", strings.Join(missing, ", "))
	}
	return cfg, nil
}

// run waits for a signal, then stores what the runner left in ConfigMaps and Secrets.
// It returns an error only when they could not be stored.
func run(ctx context.Context, cfg config, client kube.Client, signals <-chan os.Signal, logw io.Writer) error {
	logger := log.New(logw, contract.ContainerOutputsFetcher+": ", 0)
	logger.Printf("waiting for the runner to end (SIGTERM) to store its outputs as %s in namespace %s", cfg.BaseName, cfg.Namespace)
	select {
	case s := <-signals:
		logger.Printf("received %v: reading the runner's files", s)
	case <-ctx.Done():
		return fmt.Errorf("stopped before the runner ended: %w", ctx.Err())
	}

	files := outputs.Files{Dir: cfg.SharedDir, Outputs: cfg.OutputsFile, SecretOutputs: cfg.SecretOutputsFile, Error: cfg.ErrorFile}
	if cfg.OutputsFormat == contract.OutputsFormatJSONOrYAML {
		files.ConvertOutputs = yamlExportsToJSON
	}
	h := outputs.ReadFiles(files)
	for _, p := range h.Problems {
		logger.Printf("problem: %s", p)
	}
	// One deadline for the whole store phase (the state's save included), so it ends
	// within the pod's termination grace period.
	ctx, cancel := context.WithTimeout(ctx, cfg.StoreTimeout)
	defer cancel()
	if cfg.StatePath != "" && cfg.StateRestoredFile != "" && !exists(cfg.StateRestoredFile) {
		// state-restore never finished (an init container before it failed, or the restore
		// itself did): what is in STATE_PATH is not the run's state. Keep the saved one.
		h.StateError = "not saved: state-restore did not finish, so the state saved by the previous run is kept unchanged"
		logger.Printf("state %s", h.StateError)
	} else if cfg.StatePath != "" {
		// Saved whether the runner succeeded or not: a half-applied run must keep its state.
		sctx, scancel := context.WithTimeout(ctx, cfg.StoreTimeout/2)
		var n int64
		store := &statedir.Store{Secrets: client.Secrets(cfg.Namespace), Namespace: cfg.Namespace, RunID: cfg.RunID}
		// Archived once: a file the archive refuses (a link, say) is refused again on
		// every attempt, so only the API calls are retried.
		data, err := statedir.Archive(cfg.StatePath)
		if err == nil {
			err = retrySave(sctx, cfg, logger, func(ctx context.Context) error {
				_, err := store.Save(ctx, data)
				return err
			})
			n = int64(len(data))
		}
		scancel()
		if err != nil {
			h.StateError = err.Error()
			logger.Printf("state not saved: %v", err)
		} else {
			h.StateBytes = n
			logger.Printf("saved %d bytes of state from %s", n, cfg.StatePath)
		}
	}
	cms, secrets := outputs.Objects(outputs.Meta{
		Namespace: cfg.Namespace, JobName: cfg.JobName, JobUID: cfg.JobUID, BaseName: cfg.BaseName,
	}, h)

	s := &storer{client: client, cfg: cfg, logger: logger}
	if cfg.Plan != nil {
		if err := s.storePlan(ctx, cfg.Plan); err != nil { // plan.go
			return err
		}
	}
	// Chunk 0 of each kind last, the ConfigMap's very last: once it exists, the rest does.
	for _, sec := range secrets[1:] {
		if err := s.secret(ctx, sec); err != nil {
			return err
		}
	}
	for _, cm := range cms[1:] {
		if err := s.configMap(ctx, cm); err != nil {
			return err
		}
	}
	if err := s.secret(ctx, secrets[0]); err != nil {
		return err
	}
	if err := s.configMap(ctx, cms[0]); err != nil {
		return err
	}
	logger.Printf("stored %d ConfigMap(s) and %d Secret(s)", len(cms), len(secrets))
	return nil
}

type storer struct {
	client kube.Client
	cfg    config
	logger *log.Logger
}

func (s *storer) configMap(ctx context.Context, cm *corev1.ConfigMap) error {
	api := s.client.ConfigMaps(cm.Namespace)
	err := s.createOrUpdate(ctx, "configmaps", cm.Name, func(ctx context.Context) error {
		_, err := api.Create(ctx, cm, metav1.CreateOptions{})
		return err
	}, func(ctx context.Context) error {
		_, err := api.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	sizes := map[string]int{}
	for k, v := range cm.Data {
		sizes[k] = len(v)
	}
	s.logger.Printf("stored ConfigMap %s (%s)", cm.Name, describe(sizes))
	return nil
}

func (s *storer) secret(ctx context.Context, sec *corev1.Secret) error {
	api := s.client.Secrets(sec.Namespace)
	err := s.createOrUpdate(ctx, "secrets", sec.Name, func(ctx context.Context) error {
		_, err := api.Create(ctx, sec, metav1.CreateOptions{})
		return err
	}, func(ctx context.Context) error {
		_, err := api.Update(ctx, sec, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	sizes := map[string]int{}
	for k, v := range sec.Data {
		sizes[k] = len(v)
	}
	s.logger.Printf("stored Secret %s (%s)", sec.Name, describe(sizes))
	return nil
}

// describe lists keys and sizes, never values.
func describe(sizes map[string]int) string {
	if len(sizes) == 0 {
		return "empty"
	}
	keys := make([]string, 0, len(sizes))
	for k := range sizes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d bytes", k, sizes[k])
	}
	return strings.Join(parts, ", ")
}

// createOrUpdate creates an object, or updates it when an earlier pod of the same Job (or
// an earlier run of this sidecar) already created it, retrying transient API errors.
func (s *storer) createOrUpdate(ctx context.Context, resource, name string, create, update func(context.Context) error) error {
	verb := "create"
	err := s.retry(ctx, resource, name, func(ctx context.Context) error {
		err := create(ctx)
		if apierrors.IsAlreadyExists(err) {
			verb = "update"
			err = update(ctx)
		}
		return err
	})
	if err == nil {
		return nil
	}
	if apierrors.IsForbidden(err) {
		kind := strings.TrimSuffix(resource, "s")
		if verb == "update" {
			return fmt.Errorf("%s %s already exists, left by an earlier attempt of this Job, and the service account may not update %s in namespace %s "+
				"(grant verb %q on resource %q, or delete the %s): %w", kind, name, resource, s.cfg.Namespace, verb, resource, kind, err)
		}
		return fmt.Errorf("the service account may not create %s in namespace %s, so the run's outputs are lost; "+
			`add this rule to a Role bound to it: {apiGroups: [""], resources: ["configmaps", "secrets"], verbs: ["create"]}: %w`,
			resource, s.cfg.Namespace, err)
	}
	return fmt.Errorf("%s %s %s: %w", verb, strings.TrimSuffix(resource, "s"), name, err)
}

// retry calls f until it succeeds, fails permanently or ctx ends, backing off between calls.
func (s *storer) retry(ctx context.Context, resource, name string, f func(context.Context) error) error {
	return apiretry.Do(ctx, s.cfg.FirstBackoff, apiretry.MaxPause, func(attempt int, err error) {
		s.logger.Printf("storing %s %s failed (attempt %d), retrying: %v", resource, name, attempt, err)
	}, f)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// retrySave retries saving the state on transient API errors; a conflict (another save of
// the same run switched the head first) is not retried.
func retrySave(ctx context.Context, cfg config, logger *log.Logger, f func(context.Context) error) error {
	return apiretry.Do(ctx, cfg.FirstBackoff, apiretry.MaxPause, func(attempt int, err error) {
		logger.Printf("saving the state failed (attempt %d), retrying: %v", attempt, err)
	}, f)
}

// yamlExportsToJSON converts the container deployer's exports (JSON or YAML) to JSON.
func yamlExportsToJSON(name string, b []byte) ([]byte, error) {
	if json.Valid(b) {
		return b, nil
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, fmt.Errorf("exports %s is neither JSON nor YAML: %w", name, err)
	}
	return j, nil
}
