package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/runnerenv"
)

// Exit codes.
const (
	exitOK = 0
	// exitFailed: the run failed, or a check failed.
	exitFailed = 1
	// exitUsage: the command line or a file it names is wrong; nothing ran.
	exitUsage = 2
)

// Environment variables read by the command.
const (
	envSidecarImage = "CONTAINERDRIVER_SIDECAR_IMAGE"
	envClusterDir   = "CONTAINERDRIVER_CLUSTER_DIR"
	envKubeconfig   = "KUBECONFIG"
)

// defaultClusterDir is the local cluster's state directory (make cluster-up).
const defaultClusterDir = "/var/tmp/containerdriver-cluster"

// streams is the command's view of its process: output, and the environment.
type streams struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

const usage = `containerdriver: run a Container Driver runner image, or check it against the contract.

Usage:
  containerdriver run   --image IMG [flags]   run the image once (create or destroy), print its outputs
  containerdriver check --image IMG [flags]   run the conformance checks, print PASS/FAIL/WARN
  containerdriver version

Run "containerdriver run -h" or "containerdriver check -h" for the flags.
`

// cli runs one command line and returns the process's exit code.
func cli(ctx context.Context, args []string, s streams) int {
	if len(args) == 0 {
		fmt.Fprint(s.stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		o, err := parseRunArgs(args[1:], s.getenv, s.stderr)
		if err != nil {
			return usageError(s.stderr, "run", err)
		}
		return runCommand(ctx, o, s)
	case "check":
		o, err := parseCheckArgs(args[1:], s.getenv, s.stderr)
		if err != nil {
			return usageError(s.stderr, "check", err)
		}
		return checkCommand(ctx, o, s)
	case "version", "--version", "-version":
		fmt.Fprintln(s.stdout, "containerdriver", version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(s.stdout, usage)
		return exitOK
	}
	fmt.Fprintf(s.stderr, "containerdriver: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

func usageError(w io.Writer, cmd string, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(w, "containerdriver %s: %v\n", cmd, err)
	return exitUsage
}

// commonOptions are the flags run and check share: what to run, and where.
type commonOptions struct {
	image           string
	mountToken      bool
	inputsFile      string
	secretVarsFile  string
	variables       map[string]string
	filesDir        string
	sharedDirectory string
	// statePath is state_path: a state directory kept between the runs of the run id.
	statePath string

	sourceURL          string
	sourceRef          string
	sourcePath         string
	sourceUsername     string
	sourcePasswordFile string
	sourceSSHKeyFile   string

	namespace      string
	serviceAccount string
	setup          bool
	rules          []rbacv1.PolicyRule

	sidecarImage string
	kubeconfig   string
	timeout      time.Duration
	runID        string
}

// runOptions are run's flags.
type runOptions struct {
	commonOptions
	action      string
	keep        bool
	showSecrets bool
	// planDestroy, with --action plan, previews a destroy (PLAN_DESTROY=true).
	planDestroy bool
}

// checkOptions are check's flags.
type checkOptions struct {
	commonOptions
	updateInputsFile  string
	invalidInputsFile string
	stateSecretLabel  string
	junitFile         string
	// plan: the runner declares plan support (a run's plan block): the plan checks run.
	plan bool
}

func (o *commonOptions) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&o.image, "image", "", "the runner image (required)")
	fs.StringVar(&o.inputsFile, "inputs", "", "a JSON file holding the inputs object (default {})")
	fs.StringVar(&o.secretVarsFile, "secret-variables", "", "a file of secret environment variables: a JSON object of strings, or KEY=VALUE lines")
	fs.Func("variable", "an environment variable `KEY=VALUE` for the runner (repeatable)", func(v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not KEY=VALUE", v)
		}
		if o.variables == nil {
			o.variables = map[string]string{}
		}
		o.variables[k] = val
		return nil
	})
	fs.StringVar(&o.filesDir, "files", "", "a directory whose files are given to the run (relative paths, in the shared directory)")
	fs.StringVar(&o.sharedDirectory, "shared-directory", "/workspace", "job.shared_directory: where the runner works (SCRIPTS_DIRECTORY)")
	fs.StringVar(&o.statePath, "state-path", "", "state_path: an absolute directory (STATE_PATH) restored before each run and saved after it, kept between the runs of the run id")
	fs.StringVar(&o.sourceURL, "source", "", "a git repository checked out into the shared directory")
	fs.StringVar(&o.sourceRef, "ref", "", "the git ref of --source (refs/heads/x, refs/tags/x, a commit; default HEAD)")
	fs.StringVar(&o.sourcePath, "source-path", "", "the sub directory of --source to use")
	fs.StringVar(&o.sourceUsername, "source-username", "", "the user name for an HTTPS --source")
	fs.StringVar(&o.sourcePasswordFile, "source-password-file", "", "a file holding the password or token of an HTTPS --source")
	fs.StringVar(&o.sourceSSHKeyFile, "source-ssh-key-file", "", "a file holding the private key of an SSH --source")
	fs.StringVar(&o.namespace, "namespace", "", "the namespace to run in (default "+containerdriver.DefaultNamespace+"; with --setup, a new one)")
	fs.StringVar(&o.serviceAccount, "service-account", "", "the runner's service account (with --setup default "+runnerenv.DefaultServiceAccount+")")
	fs.BoolVar(&o.mountToken, "mount-service-account-token", false, "give the runner the service account's token (job.mount_service_account_token), for a runner that calls the Kubernetes API itself")
	fs.BoolVar(&o.setup, "setup", false, "create the namespace (when it does not exist) and the service account with the sidecars' Role, and remove them afterwards")
	fs.Func("rule", "with --setup, an extra rule of the Role: `RESOURCE[.GROUP][,...]=VERB[,...]`, e.g. secrets=get,create (repeatable)", func(v string) error {
		r, err := parseRule(v)
		if err != nil {
			return err
		}
		o.rules = append(o.rules, r...)
		return nil
	})
	fs.StringVar(&o.sidecarImage, "sidecar-image", getenv(envSidecarImage), "the sidecar image (default $"+envSidecarImage+", else the released image of this version)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "the kubeconfig (default $KUBECONFIG, else the local cluster's admin kubeconfig)")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "how long one run may take")
	fs.StringVar(&o.runID, "run-id", "", "the run's identity (CONTAINERDRIVER_RUN_ID), the same for a create and its destroy")
}

func (o *commonOptions) validate(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (every setting is a flag)", fs.Arg(0))
	}
	if o.image == "" {
		return errors.New("--image is required")
	}
	if err := containerdriver.ValidateImage(o.image); err != nil {
		return fmt.Errorf("--image: %w", err)
	}
	if o.sourceURL == "" && (o.sourceRef != "" || o.sourcePath != "" || o.sourceUsername != "" || o.sourcePasswordFile != "" || o.sourceSSHKeyFile != "") {
		return errors.New("--ref, --source-path and the source credentials need --source")
	}
	if len(o.rules) > 0 && !o.setup {
		return errors.New("--rule needs --setup: it adds to the Role --setup creates")
	}
	if o.timeout <= 0 {
		return errors.New("--timeout must be positive")
	}
	return nil
}

func newFlagSet(name, synopsis string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("containerdriver "+name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage: containerdriver %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parseRunArgs(args []string, getenv func(string) string, stderr io.Writer) (*runOptions, error) {
	o := &runOptions{}
	fs := newFlagSet("run", "run --image IMG [--action create|destroy|plan] [flags]\n\n"+
		"Runs the image once as a Kubernetes Job, as containerdriver_run does, streams the runner's\n"+
		"log to stderr and prints the outputs as JSON on stdout.", stderr)
	o.register(fs, getenv)
	fs.StringVar(&o.action, "action", contract.ActionCreate, "create, destroy, or plan (ACTION=plan: the runner previews a create, or a destroy with --plan-destroy; the plan is printed)")
	fs.BoolVar(&o.planDestroy, "plan-destroy", false, "with --action plan, preview a destroy (PLAN_DESTROY=true)")
	fs.BoolVar(&o.keep, "keep", false, "keep the Job and its objects (and, with --setup, the namespace and service account) for a look")
	fs.BoolVar(&o.showSecrets, "show-secrets", false, "print the secret outputs' values (hidden by default)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := o.validate(fs); err != nil {
		return nil, err
	}
	if o.action != contract.ActionCreate && o.action != contract.ActionDestroy && o.action != contract.ActionPlan {
		return nil, fmt.Errorf("--action %q is none of %s, %s and %s", o.action, contract.ActionCreate, contract.ActionDestroy, contract.ActionPlan)
	}
	if o.planDestroy && o.action != contract.ActionPlan {
		return nil, fmt.Errorf("--plan-destroy goes with --action %s", contract.ActionPlan)
	}
	return o, nil
}

func parseCheckArgs(args []string, getenv func(string) string, stderr io.Writer) (*checkOptions, error) {
	o := &checkOptions{}
	fs := newFlagSet("check", "check --image IMG [--inputs FILE] [--update-inputs FILE] [--invalid-inputs FILE] [flags]\n\n"+
		"Runs the image through create, a second create, an update, a failing create, destroy and a\n"+
		"create after the destroy (with --plan, plans before them and a create that applies a plan),\n"+
		"and prints each check of the contract as PASS, FAIL, WARN or SKIP\n"+
		"with its evidence. Without --namespace it sets up a namespace of its own (--setup).", stderr)
	o.register(fs, getenv)
	fs.StringVar(&o.updateInputsFile, "update-inputs", "", "a JSON file of changed inputs, for the update check")
	fs.StringVar(&o.invalidInputsFile, "invalid-inputs", "", "a JSON file of inputs the runner must refuse, for the invalid-input check")
	fs.StringVar(&o.stateSecretLabel, "state-secret-label", "", "the runner keeps its state in Secrets labelled `KEY` = the run id (or a selector KEY=VALUE): none may remain after destroy")
	fs.StringVar(&o.junitFile, "junit", "", "also write the results as a JUnit XML report to this file")
	fs.BoolVar(&o.plan, "plan", false, "the runner implements the plan action (ACTION=plan, PLAN_APPLY), as a run with a plan block declares: check it too")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.namespace == "" {
		o.setup = true
	}
	if err := o.validate(fs); err != nil {
		return nil, err
	}
	if o.stateSecretLabel != "" {
		if _, err := stateSelector(o.stateSecretLabel, "x"); err != nil {
			return nil, fmt.Errorf("--state-secret-label: %w", err)
		}
	}
	return o, nil
}

// parseRule reads RESOURCE[.GROUP][/SUBRESOURCE][,...]=VERB[,VERB...], the way kubectl
// create role names resources: secrets, leases.coordination.k8s.io, pods/log.
func parseRule(v string) ([]rbacv1.PolicyRule, error) {
	res, verbs, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(res) == "" || strings.TrimSpace(verbs) == "" {
		return nil, fmt.Errorf("%q is not RESOURCE[.GROUP]=VERB[,VERB...] (for example secrets=get,list,create)", v)
	}
	var vs []string
	for _, verb := range strings.Split(verbs, ",") {
		if verb = strings.TrimSpace(verb); verb == "" {
			return nil, fmt.Errorf("%q has an empty verb", v)
		}
		vs = append(vs, verb)
	}
	var rules []rbacv1.PolicyRule
	for _, r := range strings.Split(res, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			return nil, fmt.Errorf("%q has an empty resource", v)
		}
		base, sub, hasSub := strings.Cut(r, "/")
		name, group, _ := strings.Cut(base, ".")
		if hasSub {
			name += "/" + sub
		}
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{name}, Verbs: vs})
	}
	return rules, nil
}
