package gitinit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/startup"
)

// config is what git-init needs to know, from its environment.
type config struct {
	URL, Ref, Path              string
	Username, Password          string
	SSHKey, KnownHosts          string
	Dest, ErrorFile, CommitFile string
	// TerminationLog is where git-init hands the commit to the executor
	// (contract.GitCommitMessage): its own termination log, which the runner cannot
	// write, unlike CommitFile. Empty in tests that do not look.
	TerminationLog string
	// Reserved are the contract files (and directories, with everything in them) in Dest a
	// checkout must not write.
	Reserved []string
	// ScratchDir holds the temporary clone; empty means os.TempDir(), the one writable place
	// of the sidecar image.
	ScratchDir string
}

func configFromEnv(getenv func(string) string) config {
	file := contract.Env(getenv).File
	cfg := config{
		URL:        getenv(contract.EnvGitURL),
		Ref:        getenv(contract.EnvGitRef),
		Path:       getenv(contract.EnvGitPath),
		Username:   getenv(contract.EnvGitUsername),
		Password:   getenv(contract.EnvGitPassword),
		SSHKey:     getenv(contract.EnvGitSSHKey),
		KnownHosts: getenv(contract.EnvGitKnownHosts),
		Dest:       getenv(contract.EnvScriptsDirectory),
		ErrorFile:  file(contract.EnvErrorFile, contract.ErrorFile),
		CommitFile: file(contract.EnvGitCommitFile, contract.GitCommitFile),

		TerminationLog: contract.TerminationLogPath,
	}
	if cfg.Username == "" {
		cfg.Username = "git"
	}
	for _, f := range []string{
		file(contract.EnvOutputsFile, contract.OutputsFile), file(contract.EnvSecretOutputsFile, contract.SecretOutputsFile),
		cfg.ErrorFile, cfg.CommitFile,
		// In a plan Job (and a create applying a plan): the plan files and the artifact
		// directory, so that a repository's plan.txt is never taken for the runner's plan.
		getenv(contract.EnvPlanFile), getenv(contract.EnvPlanSummaryFile), getenv(contract.EnvPlanArtifactDir),
	} {
		if f != "" {
			cfg.Reserved = append(cfg.Reserved, f)
		}
	}
	return cfg
}

// run checks out the repository into cfg.Dest. On failure it writes the error, with
// every credential removed, to ERROR_FILE and returns it.
func run(ctx context.Context, cfg config, logw io.Writer) error {
	logger := log.New(logw, contract.ContainerGitInit+": ", 0)
	commit, err := checkout(ctx, cfg, logger)
	if err != nil {
		err = errors.New(cfg.redact(err.Error()))
		if cfg.ErrorFile != "" {
			if werr := os.WriteFile(cfg.ErrorFile, startup.Message(contract.ContainerGitInit, err), 0o644); werr != nil {
				logger.Printf("could not write %s: %v", cfg.ErrorFile, werr)
			}
		}
		return err
	}
	logger.Printf("checked out %s at commit %s into %s", redactURL(cfg.URL), commit, cfg.Dest)
	if cfg.TerminationLog != "" {
		// Without it the executor would not know the commit, and destroy would not be
		// pinned to it: a failure here fails the run.
		if err := os.WriteFile(cfg.TerminationLog, []byte(contract.GitCommitMessage(commit)), 0o644); err != nil {
			return fmt.Errorf("hand the commit to the executor in %s: %w", cfg.TerminationLog, err)
		}
	}
	return nil
}

func checkout(ctx context.Context, cfg config, logger *log.Logger) (string, error) {
	if cfg.URL == "" {
		return "", fmt.Errorf("%s is not set", contract.EnvGitURL)
	}
	if cfg.Dest == "" {
		return "", fmt.Errorf("%s is not set", contract.EnvScriptsDirectory)
	}
	sub, err := cleanSubPath(cfg.Path)
	if err != nil {
		return "", err
	}
	scratch, err := os.MkdirTemp(cfg.ScratchDir, "git-init-")
	if err != nil {
		return "", fmt.Errorf("create a scratch directory: %w", err)
	}
	defer os.RemoveAll(scratch)

	auth, err := authFor(cfg, scratch, logger)
	if err != nil {
		return "", err
	}
	where := redactURL(cfg.URL)
	if cfg.Ref != "" {
		where += " at ref " + strconv.Quote(cfg.Ref)
	}
	logger.Printf("fetching %s", where)
	repo, commit, err := fetch(ctx, filepath.Join(scratch, "repo.git"), cfg.URL, cfg.Ref, auth, logger)
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", where, err)
	}
	n, err := copyTree(repo, commit, sub, cfg.Dest, cfg.Reserved, logger)
	if err != nil {
		return "", fmt.Errorf("copy commit %s into %s: %w", commit, cfg.Dest, err)
	}
	logger.Printf("copied %d files of %s", n, displayPath(sub))
	// For the runner to read: the driver never reads it back.
	if cfg.CommitFile != "" {
		if err := os.WriteFile(cfg.CommitFile, []byte(commit.String()+"\n"), 0o644); err != nil {
			return "", fmt.Errorf("record the commit: %w", err)
		}
	}
	return commit.String(), nil
}

func displayPath(sub string) string {
	if sub == "" {
		return "the repository root"
	}
	return strconv.Quote(sub)
}

// cleanSubPath turns GIT_PATH into a path inside the repository, "" for its root.
func cleanSubPath(p string) (string, error) {
	p = strings.TrimSpace(p)
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", fmt.Errorf("%s %q must not contain \"..\"", contract.EnvGitPath, p)
		}
	}
	return strings.Trim(path.Clean("/"+p), "/"), nil
}

// authFor chooses the transport's credentials from the URL's scheme.
func authFor(cfg config, scratch string, logger *log.Logger) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%s %s is not a git URL", contract.EnvGitURL, redactURL(cfg.URL))
	}
	switch ep.Protocol {
	case "http", "https":
		if cfg.SSHKey != "" {
			logger.Printf("warning: %s is ignored for an %s URL", contract.EnvGitSSHKey, ep.Protocol)
		}
		if cfg.Password == "" {
			return nil, nil
		}
		return &githttp.BasicAuth{Username: cfg.Username, Password: cfg.Password}, nil
	case "ssh":
		user := ep.User
		if user == "" {
			user = cfg.Username
		}
		var helper *gitssh.HostKeyCallbackHelper
		var auth transport.AuthMethod
		switch {
		case cfg.SSHKey != "":
			keys, err := gitssh.NewPublicKeys(user, []byte(cfg.SSHKey), "")
			if err != nil {
				// The parser's errors describe the format, never the key.
				return nil, fmt.Errorf("%s is not a usable private key (PEM or OpenSSH, without passphrase): %w", contract.EnvGitSSHKey, err)
			}
			auth, helper = keys, &keys.HostKeyCallbackHelper
		case cfg.Password != "":
			pw := &gitssh.Password{User: user, Password: cfg.Password}
			auth, helper = pw, &pw.HostKeyCallbackHelper
		default:
			return nil, fmt.Errorf("an SSH URL needs credentials: set the source's ssh_key (%s)", contract.EnvGitSSHKey)
		}
		if cfg.KnownHosts == "" {
			logger.Printf("warning: %s is empty, so the SSH host key of %s is not verified", contract.EnvGitKnownHosts, ep.Host)
			helper.HostKeyCallback = ssh.InsecureIgnoreHostKey() // documented: no known_hosts, no verification
			return auth, nil
		}
		f := filepath.Join(scratch, "known_hosts")
		if err := os.WriteFile(f, []byte(cfg.KnownHosts+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write known_hosts: %w", err)
		}
		db, err := gitssh.NewKnownHostsDb(f)
		if err != nil {
			return nil, fmt.Errorf("%s is not in known_hosts format: %w", contract.EnvGitKnownHosts, err)
		}
		port := ep.Port
		if port == 0 {
			port = 22
		}
		helper.HostKeyCallback = db.HostKeyCallback()
		helper.HostKeyAlgorithms = db.HostKeyAlgorithms(ep.Host + ":" + strconv.Itoa(port))
		return auth, nil
	default:
		return nil, nil
	}
}

var userinfoRe = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@`)

// redactURL removes any user information from a URL: it may hold a password or a token.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil && u.Scheme != "" {
		u.User = nil
		return u.String()
	}
	return userinfoRe.ReplaceAllString(raw, "$1")
}

// redact removes the credentials from a message: the password, the key, and any user
// information of a URL.
func (cfg config) redact(msg string) string {
	secrets := []string{cfg.Password, cfg.SSHKey}
	if u, err := url.Parse(cfg.URL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			secrets = append(secrets, pw)
		}
	}
	for _, s := range secrets {
		if strings.TrimSpace(s) == "" {
			continue
		}
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s), url.UserPassword("x", s).String()[2:]} {
			msg = strings.ReplaceAll(msg, form, "***")
		}
	}
	if cfg.URL != "" {
		msg = strings.ReplaceAll(msg, cfg.URL, redactURL(cfg.URL))
	}
	return userinfoRe.ReplaceAllString(msg, "$1")
}
