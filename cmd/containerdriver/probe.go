package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// probeCommand is a path no image holds: the probe's container never runs any of the
// image's code, it only has to get past the kubelet's check of the image's user.
const probeCommand = "/containerdriver-check/non-root-probe"

// probeVerdict is what the kubelet said about the image's user.
type probeVerdict struct {
	st       status
	summary  string
	evidence []string
}

// judgeNonRoot finds out whether the image's own user (its USER) is root. The runs cannot
// tell: the driver runs the runner as uid 1000 whatever the image says. The kubelet can:
// a container with runAsNonRoot but no runAsUser starts only when the image's user is a
// non-zero numeric uid, and otherwise fails with CreateContainerConfigError ("image will
// run as root" for USER 0 or no USER, "non-numeric user" for a user name). The probe pod
// asks exactly that, with a command that does not exist, so none of the image's code runs.
func (c *checker) judgeNonRoot(ctx context.Context) {
	v := c.probeNonRoot(ctx)
	c.set(checkNonRoot, v.st, v.summary, v.evidence...)
}

func probePod(ns, sa, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "containerdriver-check-non-root-",
			Namespace:    ns,
			Labels:       map[string]string{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRole: "non-root-probe"},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			ServiceAccountName:            sa,
			AutomountServiceAccountToken:  ptr.To(false),
			ActiveDeadlineSeconds:         ptr.To[int64](120),
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{
				Name:            "probe",
				Image:           image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         []string{probeCommand},
				Resources:       corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("16Mi")}},
				// The restricted security context of the runner, without its runAsUser.
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					RunAsNonRoot:             ptr.To(true),
					SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
			}},
		},
	}
}

func (c *checker) probeNonRoot(ctx context.Context) probeVerdict {
	ns := c.env.namespace
	pods := c.client.CoreV1().Pods(ns)
	pod, err := pods.Create(ctx, probePod(ns, c.env.serviceAccount, c.base.Job.Image), metav1.CreateOptions{})
	if err != nil {
		return probeVerdict{st: statusWarn, summary: "not checked: the probe pod was refused: " + err.Error()}
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = pods.Delete(dctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	}()
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	sel := fields.OneTermEqualSelector("metadata.name", pod.Name).String()
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return pods.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return pods.Watch(ctx, o)
		},
	}, c.client) // whether the client serves watch-list streams (the fake clientset does not)
	var v *probeVerdict
	_, err = watchtools.UntilWithSync(wctx, lw, &corev1.Pod{}, nil, func(ev watch.Event) (bool, error) {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || ev.Type == watch.Deleted {
			return false, nil
		}
		v = verdictOf(p)
		return v != nil, nil
	})
	if v != nil {
		return *v
	}
	if wctx.Err() != nil && ctx.Err() == nil {
		return probeVerdict{st: statusWarn, summary: "not checked: the kubelet did not start the probe pod within 2 minutes"}
	}
	return probeVerdict{st: statusWarn, summary: fmt.Sprintf("not checked: watching the probe pod: %v", err)}
}

// verdictOf reads the probe pod's status; nil while the kubelet has not decided.
func verdictOf(p *corev1.Pod) *probeVerdict {
	for _, cs := range p.Status.ContainerStatuses {
		switch {
		case cs.State.Waiting != nil:
			w := cs.State.Waiting
			switch cause := containerdriver.WaitingCauseOf(w); {
			case cause == containerdriver.WaitingRunsAsRoot:
				return &probeVerdict{st: statusFail,
					summary:  "the image's user is root (USER 0 or no USER): set a numeric non-root user, USER 1000:1000",
					evidence: []string{"kubelet: " + w.Message}}
			case cause == containerdriver.WaitingNonNumericUser:
				return &probeVerdict{st: statusWarn,
					summary:  "the image's USER is a name, which Kubernetes cannot verify as non-root: use its numeric uid (the specification asks for UID and GID)",
					evidence: []string{"kubelet: " + w.Message}}
			case cause.Unrecoverable():
				return &probeVerdict{st: statusWarn, summary: fmt.Sprintf("not checked: the probe container is %s", w.Reason),
					evidence: []string{w.Message}}
			}
		case cs.State.Terminated != nil || cs.State.Running != nil:
			return &probeVerdict{st: statusPass,
				summary: "the kubelet started the image with runAsNonRoot and no runAsUser: its USER is a non-zero numeric uid; the runs ran as uid 1000 with no capabilities and no privilege escalation"}
		}
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
			return &probeVerdict{st: statusWarn, summary: "not checked: the probe pod could not be scheduled", evidence: []string{cond.Message}}
		}
	}
	return nil
}
