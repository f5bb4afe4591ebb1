package containerdriver

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

var (
	sshShortURLRe = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/].*`)
	hostPathURLRe = regexp.MustCompile(`^[A-Za-z0-9.-]+\.[A-Za-z]+:[^/].*`)
)

// validateSource checks source: the URL, the path in the repository, and that the
// credentials suit the URL.
func (s *RunSpec) validateSource() ValidationErrors {
	var errs ValidationErrors
	if s.Source == nil {
		return nil
	}
	if err := ValidateGitURL(s.Source.URL); err != nil {
		errs.add(Root("source").Attr("url"), "%v", err)
	}
	if p := s.Source.Path; p != "" && (path.IsAbs(p) || hasDotDot(p)) {
		errs.add(Root("source").Attr("path"), "must be relative to the repository root and must not contain '..'")
	}
	if s.Source.Password != "" && s.Source.SSHKey != "" {
		errs.add(Root("source").Attr("ssh_key"), "set either a password (HTTPS) or an SSH key, not both")
	}
	if s.Source.SSHKey != "" && isHTTPURL(s.Source.URL) {
		errs.add(Root("source").Attr("ssh_key"), "an SSH key needs an SSH URL (git@host:org/repo.git or ssh://...), not %q", s.Source.URL)
	}
	if s.Source.Password != "" && !isHTTPURL(s.Source.URL) {
		errs.add(Root("source").Attr("password"), "a password needs an HTTPS URL")
	}
	return errs
}

// ValidateGitURL accepts https://, http://, ssh://, git@host:path and file:// (tests) URLs.
func ValidateGitURL(u string) error {
	if hasURLCredentials(u) {
		// Not echoed: the URL holds a secret.
		return errors.New("must not hold credentials (user:password@ or token@ in an HTTPS URL, user:password@ in an SSH URL): " +
			"they would be shown in the Job spec and in errors. Use source.username and source.password (or source.ssh_key)")
	}
	switch {
	case u == "":
		return errors.New("must not be empty")
	case strings.HasPrefix(u, "https://"), strings.HasPrefix(u, "http://"), strings.HasPrefix(u, "ssh://"):
		return nil
	case sshShortURLRe.MatchString(u):
		return nil
	case hostPathURLRe.MatchString(u):
		// The form the Container Driver's examples use: github.com:my-org/project.git
		return nil
	}
	return fmt.Errorf("%q is neither an HTTPS URL (https://host/org/repo.git) nor an SSH URL (git@host:org/repo.git or ssh://git@host/org/repo.git)", u)
}

// hasURLCredentials reports a user info with a password, or any user info in an HTTP(S)
// URL (a token is often given as the user name: https://TOKEN@host/...). ssh://git@host
// and git@host:path name a user only.
func hasURLCredentials(u string) bool {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return false
	}
	authority, _, _ := strings.Cut(rest, "/")
	i := strings.LastIndex(authority, "@")
	if i < 0 {
		return false
	}
	userinfo := authority[:i]
	switch strings.ToLower(scheme) {
	case "http", "https":
		return true
	}
	return strings.Contains(userinfo, ":")
}

func isHTTPURL(u string) bool {
	return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")
}
