package containerdriver

import (
	"bufio"
	"context"
	"strings"
	"sync"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// logRing keeps the last lines of the runner's log as it streams, for when the pod is
// gone before its log can be read (a deleted pod, a stopped run).
type logRing struct {
	mu    sync.Mutex
	lines []string
	max   int
}

func newLogRing(n int) *logRing { return &logRing{max: n} }

func (r *logRing) add(line string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
	if len(r.lines) > r.max {
		r.lines = r.lines[len(r.lines)-r.max:]
	}
}

func (r *logRing) last(n int) string {
	if r == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lines
	if len(l) > n {
		l = l[len(l)-n:]
	}
	if len(l) == 0 {
		return ""
	}
	return strings.Join(l, "\n") + "\n"
}

// streamLogs follows a container's log, masking secrets, into the observer and the ring.
func (e *Executor) streamLogs(ctx context.Context, ns, pod, container string, red *redactor, ring *logRing) {
	rc, err := e.Client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, Follow: true}).Stream(ctx)
	if err != nil {
		return
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := red.mask(sc.Text())
		ring.add(line)
		if e.Observer != nil {
			e.Observer.LogLine(container, line)
		}
	}
}

// logTails reads the last lines of every container of the Job's pod that ran; the
// runner's falls back to what was streamed when the pod is gone.
func (e *Executor) logTails(ctx context.Context, ns string, job jobKey, red *redactor, ring *logRing) map[string]string {
	n := e.LogTailLines
	if n <= 0 {
		n = 30
	}
	out := map[string]string{}
	if t := ring.last(int(n)); t != "" {
		out[contract.ContainerRunner] = t
	}
	if job.Name == "" && job.UID == "" {
		return out
	}
	pods, err := e.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: podSelector(job)})
	if err != nil || len(pods.Items) == 0 {
		return out
	}
	pod := pods.Items[0]
	for _, cs := range allStatuses(&pod) {
		if cs.State.Running == nil && cs.State.Terminated == nil {
			continue
		}
		b, err := e.Client.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{Container: cs.Name, TailLines: ptr.To(n)}).DoRaw(ctx)
		if err != nil {
			continue
		}
		out[cs.Name] = red.mask(string(b))
	}
	return out
}
