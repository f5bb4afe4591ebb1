package containerdriver

import "strings"

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
