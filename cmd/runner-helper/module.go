package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// Files the helper writes into the module directory. The override file name ends in
// _override.tf.json so the tool merges it over the module: it may add a backend block to a
// module that has none, or replace the module's own when a backend is chosen explicitly.
const (
	tfvarsFileName   = "containerdriver.auto.tfvars.json"
	overrideFileName = "containerdriver_backend_override.tf.json"
)

var (
	backendNameRe = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	// A backend or cloud block at the start of a line (comments start with # or //, so
	// they do not match). The scan is deliberately simple: it only decides whether the
	// helper adds a backend, and an explicit -backend settles any doubt.
	hclBackendRe = regexp.MustCompile(`(?m)^[ \t]*(backend[ \t]+("[^"\n]*"|[A-Za-z_][\w-]*)|cloud)[ \t]*\{`)
)

// module is what the helper needs to know of the root module.
type module struct {
	dir string
	// ownBackend: the module declares a backend or cloud block.
	ownBackend bool
}

// scanModule reads the configuration files of dir (not its sub directories: only the root
// module's files decide its backend).
func scanModule(dir string) (*module, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read the module directory: %w", err)
	}
	m := &module{dir: dir}
	found := false
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == overrideFileName {
			continue
		}
		isJSON := strings.HasSuffix(name, ".tf.json")
		if !isJSON && !strings.HasSuffix(name, ".tf") {
			continue
		}
		found = true
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if isJSON {
			backend, err := scanJSONFile(b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			m.ownBackend = m.ownBackend || backend
			continue
		}
		if hclBackendRe.Match(b) {
			m.ownBackend = true
		}
	}
	if !found {
		return nil, fmt.Errorf("no .tf or .tf.json file in %s: ship the module with files or source, or point -chdir (%s) at it", dir, envWorkingDir)
	}
	return m, nil
}

// scanJSONFile tells whether a .tf.json file has a terraform.backend or terraform.cloud
// block. Blocks may be objects or arrays of objects in the JSON syntax.
func scanJSONFile(b []byte) (backend bool, err error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return false, fmt.Errorf("not valid JSON: %w", err)
	}
	for _, tb := range objects(doc["terraform"]) {
		if _, ok := tb["backend"]; ok {
			backend = true
		}
		if _, ok := tb["cloud"]; ok {
			backend = true
		}
	}
	return backend, nil
}

func objects(raw json.RawMessage) []map[string]json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var one map[string]json.RawMessage
	if json.Unmarshal(raw, &one) == nil {
		return []map[string]json.RawMessage{one}
	}
	var many []map[string]json.RawMessage
	_ = json.Unmarshal(raw, &many)
	return many
}

// isWritable is writable; tests replace it, since they run as root.
var isWritable = writable

// writable reports whether files can be created in dir.
func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".containerdriver-probe-*")
	if err != nil {
		return false
	}
	name := f.Name()
	f.Close()
	return os.Remove(name) == nil
}

// copyTree copies the regular files, directories and symlinks under src into dst, leaving
// out the contract's own files. It is used when the files the driver mounted (read-only,
// in directories the kubelet created as root) leave the module directory unwritable.
func copyTree(src, dst string) error {
	skip := map[string]bool{
		contract.OutputsFileName: true, contract.SecretOutputsFileName: true,
		contract.ErrorFileName: true, contract.GitCommitFileName: true,
		contract.PlanFileName: true, contract.PlanSummaryFileName: true,
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return os.MkdirAll(dst, 0o755)
		}
		if filepath.Dir(rel) == "." && skip[rel] {
			return nil
		}
		if filepath.Dir(rel) == "." && rel == fallbackTmpName {
			return filepath.SkipDir // the helper's own scratch space, when /tmp is not writable
		}
		if filepath.Dir(rel) == "." && rel == contract.PlanArtifactDirName {
			return filepath.SkipDir // read and written where it is, by its absolute path
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			// A data directory left by an earlier run is stale: init recreates it.
			if d.Name() == ".terraform" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case d.Type().IsRegular():
			return copyFile(p, target)
		}
		return nil // sockets, devices: nothing a module needs
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// readInputs reads RESOURCE_INPUTS_FILE: a JSON object, or nothing.
func readInputs(path string) (map[string]json.RawMessage, error) {
	if path == "" {
		return map[string]json.RawMessage{}, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("RESOURCE_INPUTS_FILE %s does not exist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read RESOURCE_INPUTS_FILE: %w", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return map[string]json.RawMessage{}, nil
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("RESOURCE_INPUTS_FILE is not a JSON object: %w", err)
	}
	if in == nil {
		in = map[string]json.RawMessage{}
	}
	return in, nil
}
