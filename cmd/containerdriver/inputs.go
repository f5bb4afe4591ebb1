package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

// readJSONObject reads a file holding one JSON object. Numbers keep their text, so a large
// integer reaches the runner as written.
func readJSONObject(flagName, file string) (map[string]any, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagName, err)
	}
	return parseJSONObject(flagName, file, b)
}

func parseJSONObject(flagName, file string, b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("--%s %s: not JSON: %w", flagName, file, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("--%s %s: more than one JSON value", flagName, file)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("--%s %s: the inputs must be a JSON object ({\"name\": \"value\", ...}), not %s", flagName, file, jsonKind(v))
	}
	return m, nil
}

// parseSecretVariables reads --secret-variables: a JSON object of strings when the file
// starts with "{", else KEY=VALUE lines (blank lines and lines starting with # are
// skipped; the value is everything after the first "=", taken as it is).
func parseSecretVariables(file string, b []byte) (map[string]string, error) {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var m map[string]any
		if err := json.Unmarshal(t, &m); err != nil {
			return nil, fmt.Errorf("--secret-variables %s: not a JSON object: %w", file, err)
		}
		out := make(map[string]string, len(m))
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("--secret-variables %s: %q is %s; every value must be a string", file, k, jsonKind(v))
			}
			out[k] = s
		}
		return out, nil
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(k), "export "))
		if !ok || k == "" {
			// The line is not quoted: it may hold a secret.
			return nil, fmt.Errorf("--secret-variables %s: line %d is not KEY=VALUE", file, n)
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--secret-variables %s: %w", file, err)
	}
	return out, nil
}

// skippedDirs are not given to the run by --files: a VCS's data and a tool's local cache.
var skippedDirs = map[string]bool{".git": true, ".terraform": true}

// readFilesDir reads every regular file under dir (following symbolic links to files) as
// the run's files, keyed by their path relative to dir.
func readFilesDir(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && skippedDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if !utf8.Valid(b) {
			return fmt.Errorf("%s is not UTF-8 text; files carry text only", p)
		}
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("--files: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("--files %s: no files", dir)
	}
	return files, nil
}

// runTemplate is a RunSpec without inputs, built once from the flags; each run copies it.
func (o *commonOptions) runTemplate() (*containerdriver.RunSpec, error) {
	spec := &containerdriver.RunSpec{
		RunID: o.runID,
		Job: containerdriver.JobSpec{
			Image:           o.image,
			SharedDirectory: o.sharedDirectory,
			Namespace:       o.namespace,
			ServiceAccount:  o.serviceAccount,
			Variables:       o.variables,

			MountServiceAccountToken: o.mountToken,
		},
		SidecarImage: o.sidecarImage,
	}
	if o.statePath != "" {
		spec.State = &containerdriver.StateSpec{Path: o.statePath}
	}
	if o.secretVarsFile != "" {
		b, err := os.ReadFile(o.secretVarsFile)
		if err != nil {
			return nil, fmt.Errorf("--secret-variables: %w", err)
		}
		if spec.Job.SecretVariables, err = parseSecretVariables(o.secretVarsFile, b); err != nil {
			return nil, err
		}
	}
	if o.filesDir != "" {
		files, err := readFilesDir(o.filesDir)
		if err != nil {
			return nil, err
		}
		spec.Files = files
	}
	if o.sourceURL != "" {
		spec.Source = &containerdriver.SourceSpec{URL: o.sourceURL, Ref: o.sourceRef, Path: o.sourcePath, Username: o.sourceUsername}
		if o.sourcePasswordFile != "" {
			b, err := os.ReadFile(o.sourcePasswordFile)
			if err != nil {
				return nil, fmt.Errorf("--source-password-file: %w", err)
			}
			spec.Source.Password = strings.TrimSpace(string(b))
		}
		if o.sourceSSHKeyFile != "" {
			b, err := os.ReadFile(o.sourceSSHKeyFile)
			if err != nil {
				return nil, fmt.Errorf("--source-ssh-key-file: %w", err)
			}
			spec.Source.SSHKey = string(b)
		}
	}
	return spec, nil
}

// defaultRunID is the run id of a run without --run-id: derived from what identifies the
// "resource" (the image's repository, the files directory, the source), so a create and a
// later destroy of the same thing share it, and a new image tag keeps it. It is shaped as
// a UUID, like the provider's ids.
func defaultRunID(o *commonOptions) string {
	repo := o.image
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if slash, colon := strings.LastIndex(repo, "/"), strings.LastIndex(repo, ":"); colon > slash {
		repo = repo[:colon]
	}
	files := o.filesDir
	if files != "" {
		if abs, err := filepath.Abs(files); err == nil {
			files = abs
		}
	}
	h := sha256.Sum256([]byte(strings.Join([]string{"containerdriver run", repo, files, o.sourceURL, o.sourcePath}, "\x00")))
	x := hex.EncodeToString(h[:16])
	// The OpenTofu runner hashes a state suffix that ends in -<digits>; keep the id as it is.
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:31] + "a"
}

// flagOf names the flag behind the attribute p of a RunSpec validation error, with the
// map key when there is one (--variable ["X"]); the attribute's name when no flag sets it.
func flagOf(p containerdriver.Path) string {
	attr, key := p, ""
	if n := len(p); n > 1 && p[n-1].IsKey {
		attr, key = p[:n-1], " "+p[n-1:].String()
	}
	flags := map[string]string{
		"job.image": "--image", "runner.sidecar_image": "--sidecar-image", "job.shared_directory": "--shared-directory",
		"job.namespace": "--namespace", "job.service_account": "--service-account", "job.variables": "--variable",
		"job.secret_variables": "--secret-variables", "files": "--files", "source.url": "--source",
		"source.path": "--source-path", "source.ssh_key": "--source-ssh-key-file", "source.password": "--source-password-file",
		"inputs": "--inputs", "id": "--run-id", "state_path": "--state-path",
	}
	if f, ok := flags[attr.String()]; ok {
		return f + key
	}
	return p.String()
}

// describeValidation renders a RunSpec's validation errors with the flags' names.
func describeValidation(err error) (string, bool) {
	var ve containerdriver.ValidationErrors
	if !errors.As(err, &ve) {
		return "", false
	}
	lines := make([]string, len(ve))
	for i, fe := range ve {
		lines[i] = flagOf(fe.Path) + ": " + fe.Detail
	}
	return strings.Join(lines, "\n"), true
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
