package gitinit

import (
	"context"
	"errors"
	"fmt"
	"log"
	"regexp"
	"sort"
	"strings"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// commitIDRe matches a full or abbreviated commit id (git accepts 4 hex digits and more).
var commitIDRe = regexp.MustCompile(`^[0-9a-f]{4,64}$`)

// scratchRef is where a commit fetched by its id lands in the scratch repository.
const scratchRef = plumbing.ReferenceName("refs/containerdriver/target")

// fetch fetches into a new bare repository at dir only what ref needs, shallowly when the
// ref is a branch or a tag, and returns the commit ref designates. An empty ref means the
// remote's HEAD.
func fetch(ctx context.Context, dir, rawURL, ref string, auth transport.AuthMethod, logger *log.Logger) (*git.Repository, plumbing.Hash, error) {
	repo, err := git.PlainInit(dir, true)
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("create the scratch repository: %w", err)
	}
	remote, err := repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{rawURL}})
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("configure the remote: %w", err)
	}
	advertised, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return nil, plumbing.ZeroHash, explain(err)
	}
	refs := map[plumbing.ReferenceName]*plumbing.Reference{}
	for _, r := range advertised {
		refs[r.Name()] = r
	}
	name, id, err := resolve(ref, refs)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}

	fetchRefs := func(depth int, specs ...gitconfig.RefSpec) error {
		err := remote.FetchContext(ctx, &git.FetchOptions{Auth: auth, RefSpecs: specs, Depth: depth, Tags: git.NoTags})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			return explain(err)
		}
		return nil
	}

	if name != "" {
		logger.Printf("fetching %s", name)
		if err := fetchRefs(1, gitconfig.RefSpec("+"+name+":"+name)); err != nil {
			return nil, plumbing.ZeroHash, err
		}
		local, err := repo.Reference(name, true)
		if err != nil {
			return nil, plumbing.ZeroHash, fmt.Errorf("%s was not fetched: %w", name, err)
		}
		c, err := peel(repo, local.Hash())
		if err != nil {
			return nil, plumbing.ZeroHash, fmt.Errorf("%s: %w", name, err)
		}
		return repo, c, nil
	}

	// A commit id. A full id at the tip of a ref, or one the server lets us ask for, needs
	// only that commit; otherwise fetch every branch and tag and look for it.
	if len(id) == 2*len(plumbing.ZeroHash) {
		h := plumbing.NewHash(id)
		if tip := refAt(refs, h); tip != "" {
			logger.Printf("commit %s is the tip of %s", id, tip)
			if err := fetchRefs(1, gitconfig.RefSpec("+"+tip+":"+tip)); err == nil {
				if c, err := peel(repo, h); err == nil {
					return repo, c, nil
				}
			}
		} else if err := fetchRefs(1, gitconfig.RefSpec(id+":"+string(scratchRef))); err == nil {
			if c, err := peel(repo, h); err == nil {
				return repo, c, nil
			}
		} else {
			logger.Printf("the server does not serve commit %s alone (%v); fetching every branch and tag", id, err)
		}
	}
	if err := fetchRefs(0, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	c, err := findCommit(repo, id)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	return repo, c, nil
}

// resolve tells which advertised ref a GIT_REF designates, or else which commit id. It
// follows git's order for short names: refs/<r>, refs/tags/<r>, refs/heads/<r>.
func resolve(ref string, refs map[plumbing.ReferenceName]*plumbing.Reference) (plumbing.ReferenceName, string, error) {
	r := strings.TrimPrefix(strings.TrimSpace(ref), "/") // the specification writes /refs/heads/main
	if r == "" || r == "HEAD" {
		head, ok := refs[plumbing.HEAD]
		switch {
		case !ok:
			return "", "", errors.New("the repository has no HEAD to check out: set a ref")
		case head.Type() == plumbing.SymbolicReference:
			return head.Target(), "", nil
		default:
			return "", head.Hash().String(), nil
		}
	}
	candidates := []string{r}
	if !strings.HasPrefix(r, "refs/") {
		candidates = []string{"refs/" + r, "refs/tags/" + r, "refs/heads/" + r}
	}
	for _, c := range candidates {
		if _, ok := refs[plumbing.ReferenceName(c)]; ok && !strings.HasSuffix(c, "^{}") {
			return plumbing.ReferenceName(c), "", nil
		}
	}
	if id := strings.ToLower(r); commitIDRe.MatchString(id) {
		return "", id, nil
	}
	return "", "", fmt.Errorf("ref %q not found: no such branch or tag%s", ref, available(refs))
}

// available lists some of the remote's branches and tags, to help fix a typo.
func available(refs map[plumbing.ReferenceName]*plumbing.Reference) string {
	var branches, tags []string
	for n := range refs {
		switch {
		case n.IsBranch():
			branches = append(branches, n.Short())
		case n.IsTag() && !strings.HasSuffix(string(n), "^{}"):
			tags = append(tags, n.Short())
		}
	}
	var parts []string
	for _, l := range []struct {
		what  string
		names []string
	}{{"branches", branches}, {"tags", tags}} {
		if len(l.names) == 0 {
			continue
		}
		sort.Strings(l.names)
		if len(l.names) > 10 {
			l.names = append(l.names[:10], "...")
		}
		parts = append(parts, l.what+": "+strings.Join(l.names, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// refAt returns a branch or tag whose tip (or peeled tag) is h.
func refAt(refs map[plumbing.ReferenceName]*plumbing.Reference, h plumbing.Hash) plumbing.ReferenceName {
	var names []string
	for n, r := range refs {
		if n != plumbing.HEAD && r.Type() == plumbing.HashReference && r.Hash() == h {
			names = append(names, strings.TrimSuffix(string(n), "^{}"))
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	return plumbing.ReferenceName(names[0])
}

// peel follows annotated tags down to the commit.
func peel(repo *git.Repository, h plumbing.Hash) (plumbing.Hash, error) {
	for range 10 {
		obj, err := repo.Object(plumbing.AnyObject, h)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("object %s: %w", h, err)
		}
		switch o := obj.(type) {
		case *object.Commit:
			return o.Hash, nil
		case *object.Tag:
			h = o.Target
		default:
			return plumbing.ZeroHash, fmt.Errorf("%s is a %s, not a commit", h, obj.Type())
		}
	}
	return plumbing.ZeroHash, fmt.Errorf("%s: too many nested tags", h)
}

// findCommit finds the one commit whose id starts with id.
func findCommit(repo *git.Repository, id string) (plumbing.Hash, error) {
	if len(id) == 2*len(plumbing.ZeroHash) {
		if c, err := repo.CommitObject(plumbing.NewHash(id)); err == nil {
			return c.Hash, nil
		}
		return plumbing.ZeroHash, fmt.Errorf("commit %s not found on any branch or tag of the repository", id)
	}
	iter, err := repo.CommitObjects()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("list commits: %w", err)
	}
	defer iter.Close()
	var found []plumbing.Hash
	err = iter.ForEach(func(c *object.Commit) error {
		if strings.HasPrefix(c.Hash.String(), id) {
			found = append(found, c.Hash)
		}
		return nil
	})
	switch {
	case err != nil:
		return plumbing.ZeroHash, fmt.Errorf("list commits: %w", err)
	case len(found) == 0:
		return plumbing.ZeroHash, fmt.Errorf("no commit starting with %s on any branch or tag of the repository", id)
	case len(found) > 1:
		return plumbing.ZeroHash, fmt.Errorf("commit id %s is ambiguous (%s, %s...): give more digits", id, found[0], found[1])
	}
	return found[0], nil
}

// explain adds what to do to the transport errors a user can fix.
func explain(err error) error {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return &hinted{err, "the server wants credentials or refused them: check the source's username and password (HTTPS) or ssh_key (SSH)"}
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return &hinted{err, "check that the source's credentials may read the repository"}
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return &hinted{err, "check the URL, and the credentials if the repository is private"}
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return &hinted{err, "nothing to check out"}
	}
	return err
}

// hinted is an error with advice; it trims the line breaks a server's reply may end with.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return strings.TrimSpace(h.err.Error()) + ": " + h.hint }
func (h *hinted) Unwrap() error { return h.err }
