// Package testcluster gives tests a real Kubernetes cluster: by default the local
// single-node cluster of hack/cluster (make cluster-up), or the one $KUBECONFIG names.
// Every cluster test of the project goes through it, so that all of them skip, or all
// of them fail, the same way when there is no cluster:
//
//   - no cluster reachable: the test is skipped, unless CONTAINERDRIVER_REQUIRE_CLUSTER=1
//     (make test sets it), then it fails, so CI can never skip cluster tests silently;
//   - CONTAINERDRIVER_SKIP_CLUSTER=1 (make unit): cluster tests are skipped;
//   - CONTAINERDRIVER_KEEP_FAILED=1: the namespace of a failed test is kept for a look.
//
// Images are built without Docker (package imagebuild) and imported into the local
// cluster's containerd, so LoadImage and the image helpers need the local cluster.
package testcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Environment variables read by this package.
const (
	EnvClusterDir     = "CONTAINERDRIVER_CLUSTER_DIR"
	EnvRequireCluster = "CONTAINERDRIVER_REQUIRE_CLUSTER"
	EnvSkipCluster    = "CONTAINERDRIVER_SKIP_CLUSTER"
	EnvKeepFailed     = "CONTAINERDRIVER_KEEP_FAILED"
	// EnvContainerdAddress overrides the containerd socket images are imported into.
	EnvContainerdAddress = "CONTAINERDRIVER_CONTAINERD_ADDRESS"
	// EnvTestRegistry names a registry (host[:port][/path]) the test images are pushed
	// to, with skopeo, for a cluster of one's own whose nodes pull from it.
	EnvTestRegistry = "CONTAINERDRIVER_TEST_REGISTRY"
	// EnvTestRegistryInsecure=1: push over plain HTTP or without verifying the
	// registry's certificate.
	EnvTestRegistryInsecure = "CONTAINERDRIVER_TEST_REGISTRY_INSECURE"
	// EnvKindCluster names a kind cluster the test images are loaded into with
	// `kind load image-archive` (instead of a registry).
	EnvKindCluster = "CONTAINERDRIVER_KIND_CLUSTER"
)

// DefaultDir is the local cluster's state directory when $CONTAINERDRIVER_CLUSTER_DIR
// is not set.
const DefaultDir = "/var/tmp/containerdriver-cluster"

// NamespacePrefix starts the name of every namespace Namespace creates.
const NamespacePrefix = "cd-test-"

// RunnerServiceAccount is the service account Namespace creates, with the permissions
// the specification gives the sidecars: create ConfigMaps and Secrets.
const RunnerServiceAccount = "runner"

// Dir is the local cluster's state directory.
func Dir() string {
	if d := os.Getenv(EnvClusterDir); d != "" {
		return d
	}
	return DefaultDir
}

// KubeconfigPath is the local cluster's admin kubeconfig.
func KubeconfigPath() string { return filepath.Join(Dir(), "kubeconfig", "admin.kubeconfig") }

var (
	cfgOnce sync.Once
	cfg     *rest.Config
	cfgErr  error
)

// RestConfig returns a configuration for the test cluster: from $KUBECONFIG, else the
// local cluster's admin kubeconfig. It skips the test when no cluster answers, or fails
// it when CONTAINERDRIVER_REQUIRE_CLUSTER=1.
func RestConfig(t testing.TB) *rest.Config {
	t.Helper()
	require := os.Getenv(EnvRequireCluster) == "1"
	if os.Getenv(EnvSkipCluster) == "1" && !require {
		t.Skipf("cluster test skipped: %s=1", EnvSkipCluster)
	}
	cfgOnce.Do(func() { cfg, cfgErr = loadConfig() })
	if cfgErr != nil {
		if require {
			t.Fatalf("no cluster, and %s=1 forbids skipping: %v", EnvRequireCluster, cfgErr)
		}
		t.Skipf("cluster test skipped: no cluster: %v (make cluster-up starts the local one)", cfgErr)
	}
	return rest.CopyConfig(cfg)
}

func loadConfig() (*rest.Config, error) {
	var (
		c   *rest.Config
		err error
	)
	if kc := os.Getenv("KUBECONFIG"); kc != "" {
		rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(kc)}
		c, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("KUBECONFIG=%s: %w", kc, err)
		}
	} else {
		p := KubeconfigPath()
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("KUBECONFIG is not set and the local cluster has no kubeconfig (%w)", err)
		}
		if c, err = clientcmd.BuildConfigFromFlags("", p); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	// Tests create and watch many objects at once; client-side throttling would only
	// add latency to what they measure.
	c.QPS, c.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster at %s does not answer: %w", c.Host, err)
	}
	if strings.TrimSpace(string(body)) != "ok" {
		return nil, fmt.Errorf("cluster at %s is not ready: %s", c.Host, body)
	}
	return c, nil
}

// Client returns a clientset for the test cluster (see RestConfig).
func Client(t testing.TB) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(RestConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Namespace creates a namespace for one test, with a generated name (NamespacePrefix),
// the restricted Pod Security Standard enforced, and a ServiceAccount "runner" bound to
// a Role "runner" that may create ConfigMaps and Secrets (the sidecars' permissions in
// the specification). It returns once the pods of the namespace can start (the service
// accounts and the kube-root-ca.crt ConfigMap exist). The namespace is deleted when the
// test ends, unless the test failed and CONTAINERDRIVER_KEEP_FAILED=1; a failed test
// also logs the namespace's pods and events.
func Namespace(t testing.TB, c kubernetes.Interface) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: NamespacePrefix,
		Labels: map[string]string{
			"pod-security.kubernetes.io/enforce": "restricted",
			"app.kubernetes.io/managed-by":       "containerdriver-tests",
		},
		Annotations: map[string]string{"containerdriver.dev/test": t.Name()},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create test namespace: %v", err)
	}
	name := ns.Name
	t.Cleanup(func() {
		if t.Failed() {
			logNamespace(t, c, name)
			if os.Getenv(EnvKeepFailed) == "1" {
				t.Logf("kept namespace %s of the failed test (%s=1)", name, EnvKeepFailed)
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		bg := metav1.DeletePropagationBackground
		if err := c.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
			t.Logf("delete namespace %s: %v", name, err)
		}
	})

	objects := []func() error{
		func() error {
			_, err := c.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: RunnerServiceAccount}}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := c.RbacV1().Roles(name).Create(ctx, &rbacv1.Role{
				ObjectMeta: metav1.ObjectMeta{Name: RunnerServiceAccount},
				Rules: []rbacv1.PolicyRule{{
					APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: []string{"create"},
				}},
			}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := c.RbacV1().RoleBindings(name).Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: RunnerServiceAccount},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: RunnerServiceAccount},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: RunnerServiceAccount, Namespace: name}},
			}, metav1.CreateOptions{})
			return err
		},
	}
	for _, create := range objects {
		if err := create(); err != nil {
			t.Fatalf("namespace %s: %v", name, err)
		}
	}
	// A pod is rejected without its service account, and cannot start before the
	// controller-manager has published kube-root-ca.crt (its token volume needs it).
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 50*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, sa := range []string{RunnerServiceAccount, "default"} {
			if _, err := c.CoreV1().ServiceAccounts(name).Get(ctx, sa, metav1.GetOptions{}); err != nil {
				return false, nil
			}
		}
		_, err := c.CoreV1().ConfigMaps(name).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("namespace %s: service accounts and kube-root-ca.crt did not appear: %v", name, err)
	}
	return name
}

// logNamespace logs the pods (phase, container states) and the latest events of a
// namespace: what one needs to see why a test failed in it.
func logNamespace(t testing.TB, c kubernetes.Interface, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	if pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, p := range pods.Items {
			fmt.Fprintf(&b, "pod %s: %s %s\n", p.Name, p.Status.Phase, p.Status.Reason)
			for _, s := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
				fmt.Fprintf(&b, "  %s: %s\n", s.Name, describeState(s.State))
			}
		}
	}
	if evs, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
		items := evs.Items
		sort.Slice(items, func(i, j int) bool { return eventTime(items[i]).Before(eventTime(items[j])) })
		if len(items) > 25 {
			items = items[len(items)-25:]
		}
		for _, e := range items {
			fmt.Fprintf(&b, "event %s %s/%s %s: %s\n", e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
	t.Logf("namespace %s of the failed test:\n%s", ns, b.String())
}

func eventTime(e corev1.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	return e.EventTime.Time
}

func describeState(s corev1.ContainerState) string {
	switch {
	case s.Waiting != nil:
		return fmt.Sprintf("waiting %s %s", s.Waiting.Reason, s.Waiting.Message)
	case s.Running != nil:
		return "running since " + s.Running.StartedAt.Format(time.RFC3339)
	case s.Terminated != nil:
		return fmt.Sprintf("terminated %s exit %d %s", s.Terminated.Reason, s.Terminated.ExitCode, s.Terminated.Message)
	}
	return "unknown"
}

// NodeIP returns the InternalIP of the cluster's first node: an address pods can reach
// the machine at, e.g. for a server a test starts (listen on it, not on localhost).
func NodeIP(t testing.TB) string {
	t.Helper()
	c := Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list nodes: %v", err)
	}
	for _, n := range nodes.Items {
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				return a.Address
			}
		}
	}
	t.Fatal(errors.New("no node has an InternalIP address"))
	return ""
}
