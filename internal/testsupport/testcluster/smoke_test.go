package testcluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/tooling/imagebuild"
)

// smokeImage builds the smoke test's workload image from ./internal/testsupport/testcluster/smoketool.
func smokeImage(t *testing.T) string {
	t.Helper()
	bin := GoBinary(t, "./internal/testsupport/testcluster/smoketool")
	sum, err := hashFiles(bin)
	if err != nil {
		t.Fatal(err)
	}
	ref := ImageRegistry + "/smoketool:test-" + sum
	BuildImage(t, ref, imagebuild.Spec{
		Files:      []imagebuild.File{{Path: "/smoketool", Source: bin, Mode: 0o755}},
		Dirs:       []imagebuild.Dir{{Path: "/tmp", Mode: 0o1777}},
		Entrypoint: []string{"/smoketool"},
		User:       "1000:1000",
	})
	return ref
}

// restricted is what the restricted Pod Security Standard asks of every container.
func restricted() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

func smokeJob(image, result, nonce string) *batchv1.Job {
	shared := []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}}
	// Imported images are never pulled; pushed ones are, from the test registry.
	pull := corev1.PullNever
	if os.Getenv(EnvTestRegistry) != "" {
		pull = corev1.PullIfNotPresent
	}
	container := func(name string, args ...string) corev1.Container {
		return corev1.Container{
			Name: name, Image: image, ImagePullPolicy: pull, Args: args,
			VolumeMounts: shared, SecurityContext: restricted(),
		}
	}
	sidecar := container("sidecar", "sidecar", "/shared", result)
	sidecar.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	main := container("main", "main", "/shared")
	main.Env = []corev1.EnvVar{{Name: "SMOKE_NONCE", Value: nonce}}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke"},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To[int32](0),
			ActiveDeadlineSeconds: ptr.To[int64](180),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				ServiceAccountName:            RunnerServiceAccount,
				RestartPolicy:                 corev1.RestartPolicyNever,
				TerminationGracePeriodSeconds: ptr.To[int64](5),
				SecurityContext: &corev1.PodSecurityContext{
					RunAsNonRoot:   ptr.To(true),
					RunAsUser:      ptr.To[int64](1000),
					RunAsGroup:     ptr.To[int64](1000),
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
				Volumes:        []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				InitContainers: []corev1.Container{sidecar, container("init", "init", "/shared")},
				Containers:     []corev1.Container{main},
			}},
		},
	}
}

// TestAccCluster_Smoke runs what every run of the provider relies on: a Job whose pod
// has a native sidecar, an init container and a main container sharing an emptyDir, in
// a restricted namespace; the sidecar writes results through the in-cluster API with the
// pod's service account. It logs the Job's latency.
func TestAccCluster_Smoke(t *testing.T) {
	c := Client(t)
	ns := Namespace(t, c)
	image := smokeImage(t)
	nonce := fmt.Sprintf("nonce-%d", time.Now().UnixNano())
	const result = "smoke-result"

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	job, err := c.BatchV1().Jobs(ns).Create(ctx, smokeJob(image, result, nonce), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create job: %v", err)
	}
	pod, err := waitPodSucceeded(ctx, c, ns, job.Name)
	podDone := time.Since(start)
	if err != nil {
		logPod(t, c, ns, pod)
		t.Fatalf("job pod: %v", err)
	}
	if err := waitJobComplete(ctx, c, ns, job.Name); err != nil {
		logPod(t, c, ns, pod)
		t.Fatalf("job: %v", err)
	}
	jobDone := time.Since(start)
	t.Logf("Job latency: create -> pod Succeeded %.1fs, create -> Job Complete %.1fs", podDone.Seconds(), jobDone.Seconds())

	cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, result, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the sidecar's ConfigMap: %v", err)
	}
	want := map[string]string{"nonce": nonce, "host": "https://10.96.0.1:443", "init": "init ran"}
	for k, v := range want {
		if cm.Data[k] != v {
			t.Errorf("ConfigMap %s: data[%s] = %q, want %q", result, k, cm.Data[k], v)
		}
	}
	secret, err := c.CoreV1().Secrets(ns).Get(ctx, result, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the sidecar's Secret: %v", err)
	}
	if got := string(secret.Data["nonce"]); got != nonce {
		t.Errorf("Secret %s: nonce = %q, want %q", result, got, nonce)
	}
}

// unrecoverable are container waiting reasons a pod does not recover from by itself.
var unrecoverable = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "ErrImageNeverPull": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true, "CrashLoopBackOff": true,
}

// podProblem reports a pod state that will not end in success.
func podProblem(p *corev1.Pod) error {
	if p.Status.Phase == corev1.PodFailed {
		return fmt.Errorf("pod %s failed: %s %s", p.Name, p.Status.Reason, p.Status.Message)
	}
	for _, s := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if w := s.State.Waiting; w != nil && unrecoverable[w.Reason] {
			return fmt.Errorf("container %s: %s: %s", s.Name, w.Reason, w.Message)
		}
		if term := s.State.Terminated; term != nil && term.ExitCode != 0 {
			return fmt.Errorf("container %s exited with %d (%s)", s.Name, term.ExitCode, term.Reason)
		}
	}
	return nil
}

// waitPodSucceeded watches the Job's pod until it succeeds, and stops at the first state
// it cannot recover from.
func waitPodSucceeded(ctx context.Context, c kubernetes.Interface, ns, job string) (*corev1.Pod, error) {
	sel := batchv1.JobNameLabel + "=" + job
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = sel
			return c.CoreV1().Pods(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = sel
			return c.CoreV1().Pods(ns).Watch(ctx, o)
		},
	}
	var last *corev1.Pod
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, nil, func(ev watch.Event) (bool, error) {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok {
			return false, nil
		}
		last = p
		if err := podProblem(p); err != nil {
			return false, err
		}
		return p.Status.Phase == corev1.PodSucceeded, nil
	})
	return last, err
}

func waitJobComplete(ctx context.Context, c kubernetes.Interface, ns, name string) error {
	sel := "metadata.name=" + name
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return c.BatchV1().Jobs(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return c.BatchV1().Jobs(ns).Watch(ctx, o)
		},
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &batchv1.Job{}, nil, func(ev watch.Event) (bool, error) {
		j, ok := ev.Object.(*batchv1.Job)
		if !ok {
			return false, nil
		}
		for _, cond := range j.Status.Conditions {
			if cond.Status != corev1.ConditionTrue {
				continue
			}
			switch cond.Type {
			case batchv1.JobComplete:
				return true, nil
			case batchv1.JobFailed:
				return false, fmt.Errorf("job %s failed: %s: %s", name, cond.Reason, cond.Message)
			}
		}
		return false, nil
	})
	return err
}

// logPod logs every container's output of a pod.
func logPod(t *testing.T, c kubernetes.Interface, ns string, p *corev1.Pod) {
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, ct := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		b, err := c.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: ct.Name, TailLines: ptr.To[int64](30)}).DoRaw(ctx)
		if err != nil {
			b = []byte(err.Error())
		}
		t.Logf("pod %s container %s:\n%s", p.Name, ct.Name, b)
	}
}

// TestAccCluster_SidecarImage builds the sidecar image, checks it is in the cluster's
// containerd with the programs at the contract's paths, and that a second import of the
// same content is skipped.
func TestAccCluster_SidecarImage(t *testing.T) {
	RestConfig(t)
	spec := sidecarImageSpec(t.TempDir())
	var got []string
	for _, f := range spec.Files {
		got = append(got, f.Path)
	}
	for _, l := range spec.Symlinks {
		if l.Target != path.Base(contract.SidecarBinary) {
			t.Errorf("%s links to %s, want %s", l.Path, l.Target, path.Base(contract.SidecarBinary))
		}
		got = append(got, l.Path)
	}
	t.Logf("sidecar image paths: %v", got)
	for _, p := range append(contract.SidecarCommands(), contract.RunnerHelperCommand, contract.SidecarBinary) {
		if !slices.Contains(got, p) {
			t.Errorf("the sidecar image lacks %s", p)
		}
	}
	start := time.Now()
	ref := SidecarImage(t)
	t.Logf("sidecar image %s built and imported in %.1fs", ref, time.Since(start).Seconds())
	if !strings.HasPrefix(ref, ImageRegistry+"/sidecars:test-") {
		t.Errorf("reference %q, want %s/sidecars:test-<hash>", ref, ImageRegistry)
	}
	if again := SidecarImage(t); again != ref {
		t.Errorf("second call returned %q, want %q", again, ref)
	}
	out, err := ctr("images", "ls", "name=="+ref)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(configLabel+"=sha256:")) {
		t.Errorf("image %s is not in containerd with its image ID label:\n%s", ref, out)
	}

	// Importing the same content again is skipped: a fresh tag is imported once, then
	// found by its image ID label.
	bin := GoBinary(t, "./internal/testsupport/testcluster/smoketool")
	spec = imagebuild.Spec{Files: []imagebuild.File{{Path: "/smoketool", Source: bin, Mode: 0o755}}}
	reref := fmt.Sprintf("%s/reimport:test-%d", ImageRegistry, time.Now().UnixNano())
	t.Cleanup(func() { _, _ = ctr("images", "rm", reref) })
	before := imports.Load()
	BuildImage(t, reref, spec)
	if n := imports.Load() - before; n != 1 {
		t.Errorf("a new tag was imported %d times, want once", n)
	}
	start = time.Now()
	BuildImage(t, reref, spec)
	if n := imports.Load() - before; n != 1 {
		t.Errorf("unchanged content was imported again (%d imports in all)", n)
	}
	t.Logf("second BuildImage of unchanged content: %.2fs", time.Since(start).Seconds())
}
