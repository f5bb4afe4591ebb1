package gitinit

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

var (
	hashA = plumbing.NewHash("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	hashB = plumbing.NewHash("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
)

func refsOf(rs ...*plumbing.Reference) map[plumbing.ReferenceName]*plumbing.Reference {
	m := map[plumbing.ReferenceName]*plumbing.Reference{}
	for _, r := range rs {
		m[r.Name()] = r
	}
	return m
}

func TestResolve(t *testing.T) {
	refs := refsOf(
		plumbing.NewSymbolicReference(plumbing.HEAD, "refs/heads/main"),
		plumbing.NewHashReference("refs/heads/main", hashA),
		plumbing.NewHashReference("refs/heads/v1", hashA),
		plumbing.NewHashReference("refs/tags/v1", hashB),
		plumbing.NewHashReference("refs/tags/v1^{}", hashA),
		plumbing.NewHashReference("refs/pull/1/head", hashB),
	)
	for _, tc := range []struct {
		ref      string
		wantName plumbing.ReferenceName
		wantID   string
		err      string
	}{
		{ref: "", wantName: "refs/heads/main"},
		{ref: "HEAD", wantName: "refs/heads/main"},
		{ref: "main", wantName: "refs/heads/main"},
		{ref: " main\n", wantName: "refs/heads/main"},
		{ref: "/refs/heads/main", wantName: "refs/heads/main"}, // as the specification writes it
		{ref: "v1", wantName: "refs/tags/v1"},                  // git's order: a tag before a branch
		{ref: "heads/v1", wantName: "refs/heads/v1"},
		{ref: "refs/pull/1/head", wantName: "refs/pull/1/head"},
		{ref: "ABCDEF1", wantID: "abcdef1"}, // a commit id, lower-cased
		{ref: "v1^{}", err: `ref "v1^{}" not found`},
		{ref: "nope", err: `ref "nope" not found: no such branch or tag (branches: main, v1; tags: v1)`},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			name, id, err := resolve(tc.ref, refs)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || name != tc.wantName || id != tc.wantID {
				t.Errorf("resolve(%q) = %q, %q, %v; want %q, %q", tc.ref, name, id, err, tc.wantName, tc.wantID)
			}
		})
	}
}

func TestResolve_Head(t *testing.T) {
	detached := refsOf(plumbing.NewHashReference(plumbing.HEAD, hashB))
	if name, id, err := resolve("", detached); err != nil || name != "" || id != hashB.String() {
		t.Errorf("detached HEAD: %q %q %v", name, id, err)
	}
	if _, _, err := resolve("HEAD", refsOf()); err == nil || !strings.Contains(err.Error(), "no HEAD to check out: set a ref") {
		t.Errorf("no HEAD: %v", err)
	}
}

func TestAvailable(t *testing.T) {
	if got := available(refsOf()); got != "" {
		t.Errorf("no refs: %q", got)
	}
	var many []*plumbing.Reference
	for i := range 12 {
		many = append(many, plumbing.NewHashReference(plumbing.ReferenceName(fmt.Sprintf("refs/heads/b%02d", i)), hashA))
	}
	got := available(refsOf(many...))
	want := " (branches: b00, b01, b02, b03, b04, b05, b06, b07, b08, b09, ...)"
	if got != want {
		t.Errorf("available = %q, want %q", got, want)
	}
	tagsOnly := available(refsOf(plumbing.NewHashReference("refs/tags/t", hashA), plumbing.NewHashReference("refs/tags/t^{}", hashB),
		plumbing.NewHashReference("refs/pull/1/head", hashB)))
	if tagsOnly != " (tags: t)" {
		t.Errorf("tags only = %q", tagsOnly)
	}
}

func TestRefAt(t *testing.T) {
	refs := refsOf(
		plumbing.NewHashReference(plumbing.HEAD, hashA),
		plumbing.NewHashReference("refs/heads/z", hashA),
		plumbing.NewHashReference("refs/heads/a", hashA),
		plumbing.NewHashReference("refs/tags/t^{}", hashB),
	)
	for _, tc := range []struct {
		h    plumbing.Hash
		want plumbing.ReferenceName
	}{
		{hashA, "refs/heads/a"}, // the first by name, never HEAD
		{hashB, "refs/tags/t"},  // a peeled tag names the tag
		{plumbing.NewHash("cccccccccccccccccccccccccccccccccccccccc"), ""},
	} {
		if got := refAt(refs, tc.h); got != tc.want {
			t.Errorf("refAt(%s) = %q, want %q", tc.h, got, tc.want)
		}
	}
}

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		err  error
		hint string
	}{
		{transport.ErrAuthenticationRequired, "check the source's username and password (HTTPS) or ssh_key (SSH)"},
		{fmt.Errorf("fetch: %w", transport.ErrAuthorizationFailed), "may read the repository"},
		{transport.ErrRepositoryNotFound, "check the URL"},
		{transport.ErrEmptyRemoteRepository, "nothing to check out"},
	} {
		got := explain(tc.err)
		if !errors.Is(got, tc.err) {
			t.Errorf("%v: the cause is lost", tc.err)
		}
		if !strings.HasSuffix(got.Error(), ": "+tc.hint) && !strings.Contains(got.Error(), tc.hint) {
			t.Errorf("explain(%v) = %q, want the hint %q", tc.err, got, tc.hint)
		}
	}
	other := errors.New("connection reset")
	if got := explain(other); !errors.Is(got, other) || got.Error() != "connection reset" {
		t.Errorf("an error without advice changed: %v", got)
	}
	h := &hinted{errors.New("authentication required\n"), "do this"}
	if h.Error() != "authentication required: do this" {
		t.Errorf("hinted = %q: the server's line break stays", h.Error())
	}
}
