package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// object is one object of the namespace a runner may keep its state in.
type object struct {
	kind string
	meta metav1.ObjectMeta
}

func (o object) String() string { return o.kind + " " + o.meta.Name }

// snapshot lists the kinds of objects a runner keeps state in within the cluster: Secrets
// (the OpenTofu and Terraform kubernetes backend), ConfigMaps, and Leases (locks).
func snapshot(ctx context.Context, c kubernetes.Interface, ns string) (map[types.UID]object, error) {
	out := map[types.UID]object{}
	secrets, err := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	for _, o := range secrets.Items {
		out[o.UID] = object{"Secret", o.ObjectMeta}
	}
	cms, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list configmaps: %w", err)
	}
	for _, o := range cms.Items {
		out[o.UID] = object{"ConfigMap", o.ObjectMeta}
	}
	leases, err := c.CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	for _, o := range leases.Items {
		out[o.UID] = object{"Lease", o.ObjectMeta}
	}
	return out, nil
}

// newObjects are the objects of after that were not in before, leaving out the driver's
// own (the executor removes those itself).
func newObjects(before, after map[types.UID]object) []object {
	var out []object
	for uid, o := range after {
		if _, ok := before[uid]; ok || o.meta.Labels[contract.LabelManagedBy] == contract.ManagedByValue {
			continue
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// mentions reports whether an object names the run id, in its name, a label or an
// annotation: a runner keys its state by CONTAINERDRIVER_RUN_ID.
func mentions(o object, runID string) bool {
	if strings.Contains(o.meta.Name, runID) {
		return true
	}
	for _, m := range []map[string]string{o.meta.Labels, o.meta.Annotations} {
		for _, v := range m {
			if strings.Contains(v, runID) {
				return true
			}
		}
	}
	return false
}

// stateSelector is --state-secret-label as a selector: KEY means KEY=<run id>, anything
// with an operator is a selector as written.
func stateSelector(flagValue, runID string) (labels.Selector, error) {
	if strings.ContainsAny(flagValue, "=!,() ") {
		return labels.Parse(flagValue)
	}
	if errs := validation.IsQualifiedName(flagValue); len(errs) > 0 {
		return nil, fmt.Errorf("%q is not a label key: %s", flagValue, strings.Join(errs, "; "))
	}
	return labels.Parse(flagValue + "=" + runID)
}

// judgeLeftovers compares the namespace after the destroy with the namespace before the
// first create. In a namespace check set up itself, every new object is the run's; in
// another, only those naming the run id are counted, the others are reported as a warning.
func (c *checker) judgeLeftovers(ctx context.Context, before map[types.UID]object, destroyOK bool) {
	after, err := snapshot(ctx, c.client, c.env.namespace)
	if err != nil {
		c.set(checkLeavesNothing, statusWarn, "not checked: "+err.Error())
		return
	}
	var selected []string
	labelled := map[string]bool{}
	if c.o.stateSecretLabel != "" {
		sel, err := stateSelector(c.o.stateSecretLabel, c.base.RunID)
		if err != nil {
			c.set(checkLeavesNothing, statusWarn, "--state-secret-label: "+err.Error())
			return
		}
		list, err := c.client.CoreV1().Secrets(c.env.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			c.set(checkLeavesNothing, statusWarn, "not checked: list the state Secrets: "+err.Error())
			return
		}
		for _, s := range list.Items {
			selected = append(selected, fmt.Sprintf("Secret %s (labels match %s)", s.Name, sel))
			labelled[s.Name] = true
		}
	}
	var left, unsure []string
	for _, o := range newObjects(before, after) {
		switch {
		case o.kind == "Secret" && labelled[o.meta.Name]:
			// Already named by --state-secret-label.
		case c.env.ownNamespace || mentions(o, c.base.RunID):
			left = append(left, fmt.Sprintf("%s (created %s)", o, o.meta.CreationTimestamp.UTC().Format("15:04:05")))
		default:
			unsure = append(unsure, o.String())
		}
	}
	where := "in namespace " + c.env.namespace
	switch {
	case !destroyOK:
		c.set(checkLeavesNothing, statusSkip, "the destroy did not succeed", append(left, selected...)...)
	case len(left) > 0 || len(selected) > 0:
		ev := append(append([]string{}, selected...), left...)
		c.set(checkLeavesNothing, statusFail, fmt.Sprintf("after the destroy, %d object(s) the runs made are still %s: a create after it would not start from nothing", len(ev), where), ev...)
	case len(unsure) > 0:
		c.set(checkLeavesNothing, statusWarn, fmt.Sprintf("%d new object(s) %s, not naming the run id (another user's, or state not keyed by CONTAINERDRIVER_RUN_ID?)", len(unsure), where), unsure...)
	default:
		summary := "no Secret, ConfigMap or Lease made by the runs is left " + where
		if c.o.stateSecretLabel != "" {
			summary += ", and no Secret matches --state-secret-label"
		}
		c.set(checkLeavesNothing, statusPass, summary)
	}
}
