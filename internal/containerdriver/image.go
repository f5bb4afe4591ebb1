package containerdriver

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ImagePullPolicy is the runner's pull policy when job.pod_template does not set one: the
// one Kubernetes gives a container that sets none (SetDefaults_Container), Always for the
// tag "latest" or no tag and no digest, which name an image that moves, IfNotPresent for
// any other tag or a digest. The provider writes it into the Job instead of leaving it to
// the API server so that the Job it shows (keep_job, plan previews) is the Job that runs.
func ImagePullPolicy(image string) corev1.PullPolicy {
	name, digest, _ := strings.Cut(image, "@")
	tag := ""
	// A tag is a ':' after the last '/'; a ':' before it is a registry port.
	if slash, colon := strings.LastIndex(name, "/"), strings.LastIndex(name, ":"); colon > slash {
		tag = name[colon+1:]
	}
	if tag == "latest" || (tag == "" && digest == "") {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// PinnedImage returns image pinned to the digest the kubelet reported (imageID) when that
// digest can be pulled by name: "repo@sha256:..." stays valid when the tag moves, so a
// destroy runs the code the create ran. It returns image unchanged and false when imageID
// holds no repository digest (an image ID alone cannot be pulled).
func PinnedImage(image, imageID string) (string, bool) {
	at := strings.LastIndex(imageID, "@")
	if at < 0 || !strings.HasPrefix(imageID[at+1:], "sha256:") {
		return image, false
	}
	digest := imageID[at+1:]
	repo := image
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	// A tag is a ':' after the last '/'; a ':' before it is a registry port.
	if slash, colon := strings.LastIndex(repo, "/"), strings.LastIndex(repo, ":"); colon > slash {
		repo = repo[:colon]
	}
	return repo + "@" + digest, true
}
