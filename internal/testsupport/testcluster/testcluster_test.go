package testcluster

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDescribeState(t *testing.T) {
	started := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	for _, tc := range []struct {
		s    corev1.ContainerState
		want string
	}{
		{corev1.ContainerState{}, "unknown"},
		{corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "no such image"}}, "waiting ImagePullBackOff no such image"},
		{corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}, "running since 2026-01-02T03:04:05Z"},
		{corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 3, Message: "boom"}}, "terminated Error exit 3 boom"},
	} {
		if got := describeState(tc.s); got != tc.want {
			t.Errorf("describeState = %q, want %q", got, tc.want)
		}
	}
}

func TestEventTime_LastTimestampElseEventTime(t *testing.T) {
	last := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	micro := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	if got := eventTime(corev1.Event{LastTimestamp: metav1.NewTime(last), EventTime: metav1.NewMicroTime(micro)}); !got.Equal(last) {
		t.Errorf("with a last timestamp: %v", got)
	}
	if got := eventTime(corev1.Event{EventTime: metav1.NewMicroTime(micro)}); !got.Equal(micro) {
		t.Errorf("events.k8s.io event: %v", got)
	}
}

func TestDir_FromTheEnvironment(t *testing.T) {
	t.Setenv(EnvClusterDir, "")
	if Dir() != DefaultDir {
		t.Errorf("unset: Dir() = %q, want %q", Dir(), DefaultDir)
	}
	t.Setenv(EnvClusterDir, "/tmp/some-cluster")
	if Dir() != "/tmp/some-cluster" {
		t.Errorf("Dir() = %q", Dir())
	}
	if KubeconfigPath() != "/tmp/some-cluster/kubeconfig/admin.kubeconfig" {
		t.Errorf("KubeconfigPath() = %q", KubeconfigPath())
	}
}
