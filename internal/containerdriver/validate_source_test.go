package containerdriver

import "testing"

func TestValidate_GitSource(t *testing.T) {
	runValidateCases(t, (*RunSpec).validateSource, []validateCase{
		{"https with a password", func(s *RunSpec) {
			s.Source = &SourceSpec{URL: "https://h/o/r.git", Password: "long-enough", Path: "sub/dir"}
		}, nil},
		{"ssh with a key", func(s *RunSpec) { s.Source = &SourceSpec{URL: "git@h:o/r.git", SSHKey: "long-enough"} }, nil},
		{"host:path form", func(s *RunSpec) { s.Source = &SourceSpec{URL: "github.com:o/r.git"} }, nil},
		{"empty url", func(s *RunSpec) { s.Source = &SourceSpec{} }, []string{"source.url: must not be empty"}},
		{"ftp url", func(s *RunSpec) { s.Source = &SourceSpec{URL: "ftp://h/r"} }, []string{
			`source.url: "ftp://h/r" is neither an HTTPS URL (https://host/org/repo.git) nor an SSH URL (git@host:org/repo.git or ssh://git@host/org/repo.git)`}},
		{"url with a token, not echoed", func(s *RunSpec) { s.Source = &SourceSpec{URL: "https://SECRET@h/o/r.git"} }, []string{
			"source.url: must not hold credentials (user:password@ or token@ in an HTTPS URL, user:password@ in an SSH URL): " +
				"they would be shown in the Job spec and in errors. Use source.username and source.password (or source.ssh_key)"}},
		{"absolute path", func(s *RunSpec) { s.Source = &SourceSpec{URL: "https://h/r.git", Path: "/etc"} }, []string{
			"source.path: must be relative to the repository root and must not contain '..'"}},
		{"path with ..", func(s *RunSpec) { s.Source = &SourceSpec{URL: "https://h/r.git", Path: "a/../.."} }, []string{
			"source.path: must be relative to the repository root and must not contain '..'"}},
		{"password and key", func(s *RunSpec) {
			s.Source = &SourceSpec{URL: "https://h/r.git", Password: "long-enough", SSHKey: "long-enough"}
		}, []string{
			"source.ssh_key: set either a password (HTTPS) or an SSH key, not both",
			`source.ssh_key: an SSH key needs an SSH URL (git@host:org/repo.git or ssh://...), not "https://h/r.git"`}},
		{"password over ssh", func(s *RunSpec) { s.Source = &SourceSpec{URL: "ssh://git@h/r.git", Password: "long-enough"} }, []string{
			"source.password: a password needs an HTTPS URL"}},
	})
}
