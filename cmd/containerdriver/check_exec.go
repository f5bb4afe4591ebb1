package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// outcome is one run of the image.
type outcome struct {
	label string
	res   *containerdriver.Result
	err   error
	took  time.Duration
}

func (r *outcome) runErr() *containerdriver.RunError {
	var re *containerdriver.RunError
	if errors.As(r.err, &re) {
		return re
	}
	return nil
}

// describeFailure is a failed run's error, as the provider would show it, masked.
func (c *checker) describeFailure(r *outcome) []string {
	text := r.err.Error()
	if re := r.runErr(); re != nil {
		text = re.Detail()
	}
	return strings.Split(strings.TrimRight(c.log.mask(text), "\n"), "\n")
}

func (c *checker) exec(ctx context.Context, label string, inputs map[string]any, action string) *outcome {
	spec := c.base
	return c.execSpec(ctx, label, &spec, inputs, action)
}

// execSpec runs spec (a copy of c.base, changed) with inputs.
func (c *checker) execSpec(ctx context.Context, label string, spec *containerdriver.RunSpec, inputs map[string]any, action string) *outcome {
	spec.Inputs = inputs
	// The Job is kept so that its raw log and error file can be read (the executor masks
	// what it reports), then removed by collect.
	spec.KeepResources = true
	rctx, cancel := context.WithTimeout(ctx, c.o.timeout)
	defer cancel()
	start := time.Now()
	res, err := c.ex.Run(rctx, spec, action)
	r := &outcome{label: label, res: res, err: err, took: time.Since(start).Round(100 * time.Millisecond)}
	verdict, job := "ok", ""
	if res != nil {
		c.log.addSecrets(res.SecretOutputs)
		job = res.JobName
	}
	if err != nil {
		verdict = "failed"
		if re := r.runErr(); re != nil {
			verdict = fmt.Sprintf("failed (%s)", re.Reason)
			job = re.JobName
			re.Kept = false
		}
	}
	if job != "" {
		c.collect(ctx, label, job)
	}
	fmt.Fprintf(c.progress, "containerdriver: %s: %s in %v\n", label, verdict, r.took)
	return r
}

// collect reads a run's raw runner log and error file, then removes its Job and objects.
func (c *checker) collect(ctx context.Context, label, job string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	ns := c.env.namespace
	defer func() {
		if err := c.ex.Cleanup(ctx, ns, job); err != nil {
			fmt.Fprintf(c.progress, "containerdriver check: removing job %s/%s: %v\n", ns, job, err)
		}
	}()
	pods, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{batchv1.JobNameLabel: job}.String()})
	if err == nil {
		for _, p := range pods.Items {
			b, err := c.client.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: contract.ContainerRunner, LimitBytes: ptr.To[int64](contract.MaxOutputsBytes)}).DoRaw(ctx)
			if err == nil {
				c.log.addLog(label, string(b))
			}
		}
	}
	sel := func(role string) metav1.ListOptions {
		return metav1.ListOptions{LabelSelector: labels.Set{contract.LabelJob: job, contract.LabelRole: role}.String()}
	}
	cms, err1 := c.client.CoreV1().ConfigMaps(ns).List(ctx, sel(contract.RoleOutputs))
	secrets, err2 := c.client.CoreV1().Secrets(ns).List(ctx, sel(contract.RoleSecretOutputs))
	if err1 != nil || err2 != nil || len(cms.Items)+len(secrets.Items) == 0 {
		return
	}
	if h, _ := outputs.Assemble(cms.Items, secrets.Items); h != nil && strings.TrimSpace(h.ErrorText) != "" {
		c.errorFiles = append(c.errorFiles, labelled{label, h.ErrorText})
	}
}
