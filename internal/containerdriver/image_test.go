package containerdriver

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestPinnedImage(t *testing.T) {
	cases := []struct{ image, id, want string }{
		{"reg.example:5000/org/img:1.2", "reg.example:5000/org/img@sha256:abc", "reg.example:5000/org/img@sha256:abc"},
		{"img", "docker.io/library/img@sha256:def", "img@sha256:def"},
		{"img:1@sha256:old", "docker.io/library/img@sha256:new", "img@sha256:new"},
		{"local.test/x:1", "sha256:1234", "local.test/x:1"},
	}
	for _, c := range cases {
		if got, _ := PinnedImage(c.image, c.id); got != c.want {
			t.Errorf("PinnedImage(%q, %q) = %q, want %q", c.image, c.id, got, c.want)
		}
	}
}

// The runner's pull policy follows its image reference as Kubernetes defaults it, and a
// pod template's imagePullPolicy wins.
func TestImagePullPolicy(t *testing.T) {
	for image, want := range map[string]corev1.PullPolicy{
		"busybox":                                              corev1.PullAlways,
		"busybox:latest":                                       corev1.PullAlways,
		"registry.local:5000/team/runner":                      corev1.PullAlways,
		"registry.local:5000/team/runner:latest":               corev1.PullAlways,
		"registry.local:5000/team/runner:1.2":                  corev1.PullIfNotPresent,
		"containerdriver.local/testrunner:test-abc":            corev1.PullIfNotPresent,
		"ghcr.io/o/r@sha256:" + strings.Repeat("a", 64):        corev1.PullIfNotPresent,
		"ghcr.io/o/r:1@sha256:" + strings.Repeat("a", 64):      corev1.PullIfNotPresent,
		"ghcr.io/o/r:latest@sha256:" + strings.Repeat("a", 64): corev1.PullAlways,
	} {
		if got := ImagePullPolicy(image); got != want {
			t.Errorf("ImagePullPolicy(%q) = %s, want %s", image, got, want)
		}
	}
	for _, c := range []struct {
		image, template string
		want            corev1.PullPolicy
	}{
		{"example.local/runner:latest", "", corev1.PullAlways},
		{"example.local/runner:1", "", corev1.PullIfNotPresent},
		{"example.local/runner:latest", "spec:\n  containers:\n  - name: runner\n    imagePullPolicy: IfNotPresent\n", corev1.PullIfNotPresent},
		{"example.local/runner:1", "spec:\n  containers:\n  - name: runner\n    imagePullPolicy: Never\n", corev1.PullNever},
	} {
		spec := minimalSpec()
		spec.Job.Image = c.image
		if c.template != "" {
			spec.Job.PodTemplates = []string{c.template}
		}
		objs, err := BuildJob(spec, "create")
		if err != nil {
			t.Fatal(err)
		}
		for _, ct := range objs.Job.Spec.Template.Spec.Containers {
			if ct.Name == "runner" && ct.ImagePullPolicy != c.want {
				t.Errorf("image %s, template %q: runner's imagePullPolicy %s, want %s", c.image, c.template, ct.ImagePullPolicy, c.want)
			}
		}
	}
}
