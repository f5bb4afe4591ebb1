package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/runnerenv"
)

// kubeconfigPath picks the kubeconfig: --kubeconfig, else $KUBECONFIG (a list, as kubectl
// reads it), else the local cluster's admin kubeconfig. ~/.kube/config is never read
// silently: a run must not land on a cluster the user did not name.
func kubeconfigPath(flagValue string, getenv func(string) string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if kc := getenv(envKubeconfig); kc != "" {
		return kc, nil
	}
	dir := getenv(envClusterDir)
	if dir == "" {
		dir = defaultClusterDir
	}
	local := filepath.Join(dir, "kubeconfig", "admin.kubeconfig")
	if _, err := os.Stat(local); err != nil {
		return "", fmt.Errorf("no cluster: set --kubeconfig or KUBECONFIG, or start the local cluster (make cluster-up; it writes %s)", local)
	}
	return local, nil
}

func restConfig(path string) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(path)}
	c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	c.UserAgent = "containerdriver/" + version
	return c, nil
}

func kubeClient(o *commonOptions, s streams) (kubernetes.Interface, error) {
	path, err := kubeconfigPath(o.kubeconfig, s.getenv)
	if err != nil {
		return nil, err
	}
	c, err := restConfig(path)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(s.stderr, "containerdriver: cluster %s (kubeconfig %s)\n", c.Host, path)
	return kubernetes.NewForConfig(c)
}

// sidecarImage is --sidecar-image (whose default is $CONTAINERDRIVER_SIDECAR_IMAGE), else
// the released sidecar image of this version, as the provider picks it.
func sidecarImage(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	tag := strings.TrimPrefix(version, "v")
	if tag == "" || tag == "dev" || strings.Contains(tag, "+") {
		tag = "latest"
	}
	return containerdriver.DefaultSidecarImageRepository + ":" + tag
}

// environment is where the runs go, and what --setup made for them.
type environment struct {
	client                    kubernetes.Interface
	namespace, serviceAccount string
	// created is what --setup created, removed by teardown.
	created *runnerenv.Env
	// ownNamespace is set when --setup created the namespace: everything in it is the run's.
	ownNamespace bool
}

// prepare resolves the namespace and service account, creating them with --setup: the
// namespace when it does not exist (a generated name when --namespace is not given),
// labelled for the restricted Pod Security Standard, and the service account with a Role
// holding the sidecars' rules plus --rule, and its RoleBinding.
func prepare(ctx context.Context, c kubernetes.Interface, o *commonOptions, prefix string, log io.Writer) (*environment, error) {
	env := &environment{client: c, namespace: o.namespace, serviceAccount: o.serviceAccount}
	if !o.setup {
		if env.namespace == "" {
			env.namespace = containerdriver.DefaultNamespace
		}
		return env, nil
	}
	if env.namespace == "" {
		env.namespace = prefix + randomSuffix(6)
	}
	if env.serviceAccount == "" {
		env.serviceAccount = runnerenv.DefaultServiceAccount
	}
	re := &runnerenv.Env{
		Namespace: env.namespace, ServiceAccount: env.serviceAccount,
		CreateServiceAccount: true, ExtraRules: o.rules, AllowStatePath: o.statePath != "",
	}
	switch _, err := c.CoreV1().Namespaces().Get(ctx, env.namespace, metav1.GetOptions{}); {
	case apierrors.IsNotFound(err):
		re.CreateNamespace = true
	case err != nil:
		return nil, fmt.Errorf("--setup: look up namespace %s: %w", env.namespace, err)
	}
	if _, err := c.CoreV1().ServiceAccounts(env.namespace).Get(ctx, env.serviceAccount, metav1.GetOptions{}); err == nil {
		return nil, fmt.Errorf("--setup: service account %s already exists in namespace %s: choose another --service-account, or leave out --setup to use it as it is", env.serviceAccount, env.namespace)
	}
	env.created, env.ownNamespace = re, re.CreateNamespace
	if err := re.Ensure(ctx, c); err != nil {
		// Whatever was made before the failure goes again.
		_ = env.teardown(ctx)
		var nm *runnerenv.NotManagedError
		if errors.As(err, &nm) {
			return nil, fmt.Errorf("--setup: %w; choose another --namespace or --service-account", err)
		}
		return nil, fmt.Errorf("--setup: %w", err)
	}
	what := "service account " + env.serviceAccount
	if re.CreateNamespace {
		what = "namespace " + env.namespace + " (restricted Pod Security Standard) and " + what
	}
	fmt.Fprintf(log, "containerdriver: set up %s in %s, with a Role for the sidecars", what, env.namespace)
	if len(o.rules) > 0 {
		fmt.Fprintf(log, " and %d extra rule(s)", len(o.rules))
	}
	fmt.Fprintln(log)
	if err := waitPodsCanStart(ctx, c, env.namespace); err != nil {
		_ = env.teardown(ctx)
		return nil, err
	}
	return env, nil
}

// teardown removes what prepare created; a namespace it created goes with everything in it.
func (e *environment) teardown(ctx context.Context) error {
	if e.created == nil {
		return nil
	}
	// Also after an interrupt: the caller's context may be done.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	return e.created.Delete(ctx, e.client)
}

// waitPodsCanStart waits for the ConfigMap every pod of a new namespace mounts (its
// service account token's CA), which a controller adds shortly after the namespace.
func waitPodsCanStart(ctx context.Context, c kubernetes.Interface, ns string) error {
	const name = "kube-root-ca.crt"
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return c.CoreV1().ConfigMaps(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return c.CoreV1().ConfigMaps(ns).Watch(ctx, o)
		},
	}, c) // whether the client serves watch-list streams (the fake clientset does not)
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.ConfigMap{},
		func(store cache.Store) (bool, error) {
			_, ok, err := store.GetByKey(ns + "/" + name)
			return ok, err
		},
		func(ev watch.Event) (bool, error) { return ev.Type == watch.Added, nil })
	if err != nil {
		return fmt.Errorf("--setup: namespace %s did not get its %s ConfigMap: %w", ns, name, err)
	}
	return nil
}

func randomSuffix(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
