package containerdriver

import (
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/version"
	apiversion "k8s.io/apimachinery/pkg/version"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// nativeSidecarsFix is what to do about a cluster without native sidecars.
const nativeSidecarsFix = "upgrade the cluster to Kubernetes 1.29 or later, where native sidecars are on by default; " +
	"on 1.29 to 1.32, check that the SidecarContainers feature gate is not turned off on the API server and the kubelets " +
	"(on 1.28 it is off by default: turn it on in both)"

// sidecarSupport is what the server's version says about native sidecars.
type sidecarSupport int

const (
	// sidecarsUnknown: the version does not decide (1.28, whose feature gate is off by
	// default, or a version that cannot be read); the API's answer to the Job decides.
	sidecarsUnknown sidecarSupport = iota
	// sidecarsSupported: 1.29 or later (the feature gate on by default, locked on from 1.33).
	sidecarsSupported
	// sidecarsUnsupported: older than 1.28, which has no native sidecars at all.
	sidecarsUnsupported
)

// sidecarSupportOf decides from the server's version (discovery's /version).
func sidecarSupportOf(info *apiversion.Info) (sidecarSupport, string) {
	if info == nil {
		return sidecarsUnknown, ""
	}
	v, err := version.ParseGeneric(info.GitVersion)
	if err != nil {
		// Some providers' /version has an odd gitVersion but plain major and minor ("1", "27+").
		v, err = version.ParseGeneric(strings.TrimSuffix(info.Major, "+") + "." + strings.TrimSuffix(info.Minor, "+"))
		if err != nil {
			return sidecarsUnknown, info.GitVersion
		}
	}
	switch {
	case v.Major() == 0:
		// No server reports 0.x: it is client-go's unset version (fake clients, dev builds).
		return sidecarsUnknown, v.String()
	case v.LessThan(version.MajorMinor(1, 28)):
		return sidecarsUnsupported, v.String()
	case v.LessThan(version.MajorMinor(1, 29)):
		return sidecarsUnknown, v.String()
	}
	return sidecarsSupported, v.String()
}

// serverSupport caches, per client, a version that decided: the server's version does
// not change under a provider's run, and every run would otherwise ask again.
var serverSupport sync.Map // the Executor's Client (kubernetes.Interface) -> sidecarSupport

// versionFlights shares a version read among the runs of a client asking at the same time,
// keyed by the client's address (a client in use cannot share it with another).
var versionFlights singleflight.Group

// checkNativeSidecars fails a run, before anything is created, on a cluster whose
// version has no native sidecars. A version it cannot read (discovery forbidden, an
// error) does not fail the run: checkSidecarKept looks at the API's answer.
func (e *Executor) checkNativeSidecars(fail func(reason, msg string) error) error {
	if s, ok := serverSupport.Load(e.Client); ok && s.(sidecarSupport) == sidecarsSupported {
		return nil
	}
	// The first runs of a process, started together, share one read of the version.
	r, err, _ := versionFlights.Do(fmt.Sprintf("%p", e.Client), func() (any, error) {
		info, err := e.Client.Discovery().ServerVersion()
		if err == nil {
			if support, _ := sidecarSupportOf(info); support == sidecarsSupported {
				serverSupport.Store(e.Client, support)
			}
		}
		return info, err
	})
	if err != nil {
		return nil
	}
	support, v := sidecarSupportOf(r.(*apiversion.Info))
	if support == sidecarsUnsupported {
		return fail(ReasonNativeSidecarsUnsupported, fmt.Sprintf(
			"the cluster runs Kubernetes %s, which has no native sidecars (init containers with restartPolicy: Always); "+
				"the run's %s is one, so nothing was created: %s", v, contract.ContainerOutputsFetcher, nativeSidecarsFix))
	}
	return nil
}

// checkSidecarKept reads the Job the API server stored: a server whose SidecarContainers
// feature is off drops an init container's restartPolicy (and one older than 1.28 does
// not know the field), so outputs-fetcher would run as an ordinary init container that
// waits for a runner that never starts. It returns the message when the restartPolicy of
// outputs-fetcher is gone. ensureJob reads it before it makes the Job's inputs: the pod,
// which mounts the inputs Secret, has started no container (inputsgate.go).
func checkSidecarKept(stored *batchv1.Job) string {
	for _, c := range stored.Spec.Template.Spec.InitContainers {
		if c.Name != contract.ContainerOutputsFetcher {
			continue
		}
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			return ""
		}
		return fmt.Sprintf("the Kubernetes API server dropped the restartPolicy: Always of the Job's %s init container: "+
			"the cluster does not run native sidecars (the SidecarContainers feature is off, or the cluster is older than 1.28), "+
			"so the Job was deleted before any container of its pod started: %s", contract.ContainerOutputsFetcher, nativeSidecarsFix)
	}
	return ""
}
