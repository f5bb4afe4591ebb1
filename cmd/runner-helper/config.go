package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// Environment variables that mirror the flags, so a runner configures the helper through
// job.variables without changing the image's command.
const (
	envWorkingDir    = "TF_WORKING_DIR"
	envBackend       = "TF_BACKEND"
	envBackendConfig = "TF_BACKEND_CONFIG"
	envStateNS       = "TF_STATE_NAMESPACE"
	envStateSuffix   = "TF_STATE_SECRET_SUFFIX"
	envKeepState     = "TF_KEEP_STATE"
	envToolBinary    = "TF_BINARY"
)

// Backend choices besides a backend type name.
const (
	// backendAuto uses the module's own backend when it declares one, else kubernetes.
	backendAuto = ""
	// backendKubernetes is the default: a Secret in the pod's namespace, keyed by the run id.
	backendKubernetes = "kubernetes"
)

// serviceAccountDir is where Kubernetes mounts the pod's token, CA and namespace.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

var errHelp = errors.New("help requested")

type config struct {
	// tool is "tofu" or "terraform"; binary is the executable run.
	tool   string
	binary string

	action            string
	scriptsDir        string
	workingDir        string // relative to scriptsDir, or absolute
	inputsFile        string
	outputsFile       string
	secretOutputsFile string
	errorFile         string
	runID             string

	// The plan action (contract "The plan action"): planDestroy previews a destroy;
	// planFile and planSummaryFile are what ACTION=plan writes; planArtifactDir holds the
	// saved plan a plan leaves and a create with planApply applies.
	planDestroy     bool
	planFile        string
	planSummaryFile string
	planArtifactDir string
	planApply       bool

	backend       string
	backendConfig []string
	stateNS       string
	stateSuffix   string
	keepState     bool

	// tmpDir holds HOME, TF_DATA_DIR and, when the module directory is read-only, a
	// writable copy of the scripts directory. Empty: chosen at run time.
	tmpDir string
	// saDir is the service account directory (tests point it elsewhere).
	saDir string
	// getenv reads the environment (tests replace it).
	getenv func(string) string

	stdout, stderr io.Writer
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

const usage = `usage: runner-helper tofu|terraform [flags]

Runs OpenTofu or Terraform as a Container Driver runner. ACTION=create runs init and
apply, ACTION=destroy runs init and destroy. The module's outputs are written to
OUTPUTS_FILE and (sensitive ones) SECRET_OUTPUTS_FILE; RESOURCE_INPUTS_FILE becomes the
module's variables (containerdriver.auto.tfvars.json).

ACTION=plan runs init and plan -detailed-exitcode (-destroy when PLAN_DESTROY=true),
changes nothing, writes the plan to PLAN_FILE and its counts to PLAN_SUMMARY_FILE, and
leaves the saved plan in PLAN_ARTIFACT_DIR; ACTION=create with PLAN_APPLY=true applies
that saved plan as it is, or fails.

Every flag has an environment variable, for use in job.variables; the flag wins.
`

// parseArgs reads the tool, the flags and the contract's environment.
func parseArgs(args []string, getenv func(string) string) (*config, error) {
	if len(args) == 0 || (args[0] != "tofu" && args[0] != "terraform") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fmt.Fprint(os.Stdout, usage)
			return nil, errHelp
		}
		return nil, errors.New("the first argument must be tofu or terraform (usage: runner-helper tofu|terraform [flags])")
	}
	cfg := &config{tool: args[0], getenv: getenv, saDir: serviceAccountDir}
	fs := flag.NewFlagSet("runner-helper "+cfg.tool, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage+"\nflags:\n")
		fs.PrintDefaults()
	}
	var backendConfig listFlag
	keep := getenv(envKeepState)
	fs.StringVar(&cfg.binary, "binary", getenv(envToolBinary),
		"path of the "+cfg.tool+" executable (default: looked up in PATH) [$"+envToolBinary+"]")
	fs.StringVar(&cfg.workingDir, "chdir", getenv(envWorkingDir),
		"directory of the root module, relative to SCRIPTS_DIRECTORY [$"+envWorkingDir+"]")
	fs.StringVar(&cfg.backend, "backend", getenv(envBackend),
		"state backend: empty uses the module's own backend block, or kubernetes when it has none;\n"+
			"kubernetes keeps the state in a Secret of the pod's namespace; any other type name (s3, gcs,\n"+
			"local...) is configured by -backend-config [$"+envBackend+"]")
	fs.Var(&backendConfig, "backend-config",
		"passed to init as -backend-config (key=value or a file); repeatable [$"+envBackendConfig+": one per line]")
	fs.StringVar(&cfg.stateNS, "state-namespace", getenv(envStateNS),
		"namespace of the kubernetes backend's Secret (default: the pod's namespace) [$"+envStateNS+"]")
	fs.StringVar(&cfg.stateSuffix, "state-secret-suffix", getenv(envStateSuffix),
		"secret_suffix of the kubernetes backend (default: derived from CONTAINERDRIVER_RUN_ID) [$"+envStateSuffix+"]")
	fs.BoolVar(&cfg.keepState, "keep-state", false,
		"keep the kubernetes backend's Secret and Lease after a successful destroy [$"+envKeepState+"]")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if len(backendConfig) == 0 {
		for _, l := range strings.Split(getenv(envBackendConfig), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				backendConfig = append(backendConfig, l)
			}
		}
	}
	cfg.backendConfig = backendConfig
	if !flagSet(fs, "keep-state") && keep != "" {
		b, err := strconv.ParseBool(keep)
		if err != nil {
			return nil, fmt.Errorf("%s=%q is not a boolean", envKeepState, keep)
		}
		cfg.keepState = b
	}

	cfg.action = getenv(contract.EnvAction)
	cfg.scriptsDir = getenv(contract.EnvScriptsDirectory)
	cfg.inputsFile = getenv(contract.EnvResourceInputsFile)
	cfg.outputsFile = getenv(contract.EnvOutputsFile)
	cfg.secretOutputsFile = getenv(contract.EnvSecretOutputsFile)
	cfg.errorFile = getenv(contract.EnvErrorFile)
	cfg.runID = getenv(contract.EnvRunID)
	cfg.planFile = getenv(contract.EnvPlanFile)
	cfg.planSummaryFile = getenv(contract.EnvPlanSummaryFile)
	cfg.planArtifactDir = getenv(contract.EnvPlanArtifactDir)
	for _, b := range []struct {
		name string
		dst  *bool
	}{{contract.EnvPlanDestroy, &cfg.planDestroy}, {contract.EnvPlanApply, &cfg.planApply}} {
		if v := getenv(b.name); v != "" {
			parsed, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("%s=%q is not a boolean", b.name, v)
			}
			*b.dst = parsed
		}
	}

	// A plan writes no outputs, so it needs its own two files instead.
	required := []struct{ name, val string }{
		{contract.EnvAction, cfg.action},
		{contract.EnvScriptsDirectory, cfg.scriptsDir},
		{contract.EnvOutputsFile, cfg.outputsFile},
		{contract.EnvSecretOutputsFile, cfg.secretOutputsFile},
	}
	if cfg.action == contract.ActionPlan {
		required = append(required[:2],
			struct{ name, val string }{contract.EnvPlanFile, cfg.planFile},
			struct{ name, val string }{contract.EnvPlanSummaryFile, cfg.planSummaryFile})
	}
	var missing []string
	for _, v := range required {
		if v.val == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s not set: runner-helper runs inside a Container Driver Job", strings.Join(missing, ", "))
	}
	switch cfg.action {
	case contract.ActionCreate, contract.ActionDestroy, contract.ActionPlan:
	default:
		return nil, fmt.Errorf("%s=%q: expected %q, %q or %q", contract.EnvAction, cfg.action, contract.ActionCreate, contract.ActionDestroy, contract.ActionPlan)
	}
	if cfg.workingDir != "" && !filepath.IsAbs(cfg.workingDir) && hasDotDot(cfg.workingDir) {
		return nil, fmt.Errorf("-chdir %q must stay inside SCRIPTS_DIRECTORY", cfg.workingDir)
	}
	if cfg.backend == "auto" {
		cfg.backend = backendAuto
	}
	if cfg.backend != "" && !backendNameRe.MatchString(cfg.backend) {
		return nil, fmt.Errorf("-backend %q is not a backend type name", cfg.backend)
	}
	return cfg, nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

func hasDotDot(p string) bool {
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if part == ".." {
			return true
		}
	}
	return false
}
