package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// runReport is what run prints on stdout.
type runReport struct {
	RunID     string `json:"run_id"`
	Action    string `json:"action"`
	Namespace string `json:"namespace"`
	Job       string `json:"job"`
	// ImageID is the digest the kubelet ran.
	ImageID       string         `json:"image_id,omitempty"`
	GitCommit     string         `json:"git_commit,omitempty"`
	Outputs       map[string]any `json:"outputs"`
	SecretOutputs map[string]any `json:"secret_outputs"`
	// Plan is what --action plan previewed (masked text, summary, artifact size).
	Plan *planReport `json:"plan,omitempty"`
}

// planReport is a plan run's result on stdout.
type planReport struct {
	Summary       contract.PlanSummary `json:"summary"`
	Text          string               `json:"text"`
	Truncated     bool                 `json:"truncated,omitempty"`
	ArtifactBytes int                  `json:"artifact_bytes"`
}

// hiddenSecret stands for a secret output's value without --show-secrets.
const hiddenSecret = containerdriver.MaskedText

// printer shows a run's progress on stderr: the executor's events, and the runner's log
// as it is written (the executor has already masked the secret values it knows).
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) Event(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "containerdriver: %s\n", msg)
}

func (p *printer) LogLine(container, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s | %s\n", container, line)
}

func runCommand(ctx context.Context, o *runOptions, s streams) int {
	spec, err := o.runTemplate()
	if err != nil {
		fmt.Fprintf(s.stderr, "containerdriver run: %v\n", err)
		return exitUsage
	}
	inputs := map[string]any{}
	if o.inputsFile != "" {
		if inputs, err = readJSONObject("inputs", o.inputsFile); err != nil {
			fmt.Fprintf(s.stderr, "containerdriver run: %v\n", err)
			return exitUsage
		}
	}
	spec.Inputs = inputs
	spec.KeepResources = o.keep
	if o.action == contract.ActionPlan {
		spec.Plan = &containerdriver.PlanSpec{Destroy: o.planDestroy} // shown, not kept
	}
	spec.SidecarImage = sidecarImage(o.sidecarImage)
	if spec.RunID == "" {
		spec.RunID = defaultRunID(&o.commonOptions)
	}
	// Validate before touching the cluster, with the flags' names.
	probe := *spec
	if probe.Job.Namespace == "" {
		probe.Job.Namespace = containerdriver.DefaultNamespace
	}
	if err := probe.Validate(); err != nil {
		msg, ok := describeValidation(err)
		if !ok {
			msg = err.Error()
		}
		fmt.Fprintf(s.stderr, "containerdriver run: %s\n", msg)
		return exitUsage
	}

	client, err := kubeClient(&o.commonOptions, s)
	if err != nil {
		fmt.Fprintf(s.stderr, "containerdriver run: %v\n", err)
		return exitUsage
	}
	env, err := prepare(ctx, client, &o.commonOptions, "containerdriver-run-", s.stderr)
	if err != nil {
		fmt.Fprintf(s.stderr, "containerdriver run: %v\n", err)
		return exitFailed
	}
	defer func() {
		if o.keep && env.created != nil {
			fmt.Fprintf(s.stderr, "containerdriver: kept namespace %s and service account %s (--keep); remove them with: kubectl delete namespace %s\n",
				env.namespace, env.serviceAccount, env.namespace)
			return
		}
		if err := env.teardown(ctx); err != nil {
			fmt.Fprintf(s.stderr, "containerdriver run: removing what --setup created: %v\n", err)
		}
	}()
	spec.Job.Namespace, spec.Job.ServiceAccount = env.namespace, env.serviceAccount

	fmt.Fprintf(s.stderr, "containerdriver: %s run %s of %s in %s (sidecars %s)\n", o.action, spec.RunID, spec.Job.Image, env.namespace, spec.SidecarImage)
	ex := &containerdriver.Executor{Client: client, Observer: &printer{w: s.stderr}}
	rctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	start := time.Now()
	res, err := ex.Run(rctx, spec, o.action)
	took := time.Since(start).Round(100 * time.Millisecond)
	if err != nil {
		var re *containerdriver.RunError
		if errors.As(err, &re) {
			fmt.Fprintf(s.stderr, "\ncontainerdriver run: the %s failed after %v:\n%s\n%s\n", o.action, took, re.Detail(), runHint(re))
		} else {
			fmt.Fprintf(s.stderr, "\ncontainerdriver run: the %s failed after %v: %v\n", o.action, took, err)
		}
		return exitFailed
	}
	report := newRunReport(spec, o.action, res, o.showSecrets)
	b, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		fmt.Fprintf(s.stderr, "containerdriver run: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(s.stdout, "%s\n", b)
	fmt.Fprintf(s.stderr, "containerdriver: %s succeeded in %v\n", o.action, took)
	if o.keep {
		fmt.Fprintf(s.stderr, "containerdriver: kept Job %s/%s (--keep): kubectl -n %s logs job/%s -c %s\n",
			res.Namespace, res.JobName, res.Namespace, res.JobName, contract.ContainerRunner)
	}
	return exitOK
}

func newRunReport(spec *containerdriver.RunSpec, action string, res *containerdriver.Result, showSecrets bool) *runReport {
	r := &runReport{
		RunID: spec.RunID, Action: action, Namespace: res.Namespace, Job: res.JobName,
		ImageID: res.ImageID, GitCommit: res.GitCommit,
		Outputs: res.Outputs, SecretOutputs: res.SecretOutputs,
	}
	if r.Outputs == nil {
		r.Outputs = map[string]any{}
	}
	if p := res.Plan; p != nil {
		r.Plan = &planReport{Summary: p.Summary, Text: p.Text, Truncated: p.Truncated, ArtifactBytes: p.ArtifactBytes}
	}
	if !showSecrets {
		r.SecretOutputs = make(map[string]any, len(res.SecretOutputs))
		for k := range res.SecretOutputs {
			r.SecretOutputs[k] = hiddenSecret
		}
	} else if r.SecretOutputs == nil {
		r.SecretOutputs = map[string]any{}
	}
	return r
}

// runHint is what to do next about a failed run, as the provider advises it, in the
// command's terms.
func runHint(e *containerdriver.RunError) string {
	switch {
	case e.Container == contract.ContainerRunner && e.ErrorFile != "":
		return "The runner reported the error above in its ERROR_FILE."
	case e.Container == contract.ContainerRunner:
		return "The runner failed without writing ERROR_FILE; its log above may tell why. A runner should write the cause to $ERROR_FILE."
	case e.Container == contract.ContainerPreChecks:
		return "The service account cannot create the ConfigMaps and Secrets the outputs come back through: run with --setup, " +
			"or grant it create on configmaps and secrets in the namespace."
	case e.Container == contract.ContainerGitInit:
		return "The git checkout failed: check --source, --ref and the credentials, and that the cluster can reach the repository."
	case e.Kept:
		return "The Job was kept (--keep)."
	}
	return "Run again with --keep to keep the Job and its pod for inspection."
}
