package containerdriver

import "testing"

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
