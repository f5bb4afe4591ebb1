package main

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestVerdictOf(t *testing.T) {
	pod := func(cs corev1.ContainerState) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "probe", State: cs}}}}
	}
	waiting := func(reason, msg string) corev1.ContainerState {
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want status // "" for no verdict yet
	}{
		{"pending", pod(waiting("ContainerCreating", "")), ""},
		{"root", pod(waiting("CreateContainerConfigError", "container has runAsNonRoot and image will run as root (pod: \"p\", container: probe)")), statusFail},
		{"user name", pod(waiting("CreateContainerConfigError", "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root")), statusWarn},
		{"pull", pod(waiting("ErrImagePull", "not found")), statusWarn},
		{"started", pod(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "StartError", ExitCode: 128}}), statusPass},
		{"unschedulable", &corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}}}, statusWarn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verdictOf(tc.pod)
			var got status
			if v != nil {
				got = v.st
			}
			if got != tc.want {
				t.Errorf("verdict = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestProbePod_PassesRestricted(t *testing.T) {
	p := probePod("ns", "sa", "example.com/r:1")
	sc := p.Spec.Containers[0].SecurityContext
	if sc.RunAsUser != nil || p.Spec.SecurityContext != nil {
		t.Error("the probe sets a user: the kubelet would not check the image's")
	}
	if !*sc.RunAsNonRoot || *sc.AllowPrivilegeEscalation || sc.Capabilities.Drop[0] != "ALL" || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("the probe's security context does not pass the restricted standard: %+v", sc)
	}
	if p.Spec.Containers[0].Command[0] != probeCommand {
		t.Error("the probe runs the image's own entrypoint")
	}
}
