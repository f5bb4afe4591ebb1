package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

const (
	// errorTailBytes bounds the part of the tool's stderr copied to ERROR_FILE: the
	// diagnostics are at its end, and the whole stream is in the container log anyway.
	errorTailBytes = 32 * 1024
	// fallbackTmpName is the helper's scratch directory inside SCRIPTS_DIRECTORY, used only
	// when the image has no writable temporary directory.
	fallbackTmpName = ".containerdriver"
)

// failure is an error with the exit code the helper ends with.
type failure struct {
	code int
	msg  string
}

func (f *failure) Error() string { return f.msg }

func fail(code int, format string, a ...any) error {
	return &failure{code: code, msg: fmt.Sprintf(format, a...)}
}

// run carries out the action and returns the process's exit code. On failure the message
// goes to ERROR_FILE as well as to stderr.
func run(ctx context.Context, cfg *config) int {
	err := (&helper{cfg: cfg}).run(ctx)
	if err == nil {
		return 0
	}
	code := 1
	var f *failure
	if errors.As(err, &f) {
		code = f.code
	}
	fmt.Fprintf(cfg.stderr, "runner-helper: %s\n", firstLine(err.Error()))
	writeErrorFile(cfg.errorFile, err.Error())
	return code
}

type helper struct {
	cfg *config
	// env is the tool's environment.
	env []string
	dir string
	// managedState: the helper configured the kubernetes backend, so it knows the state's
	// Secret and may remove it after a destroy.
	managedState bool
	stateNS      string
	stateSuffix  string
	// tmp is the helper's scratch directory (HOME, TF_DATA_DIR).
	tmp string
	// state says where the state is kept, for people; backendDoc is the backend override
	// the helper wrote (nil: the module's own backend).
	state      string
	backendDoc map[string]any
}

func (h *helper) logf(format string, a ...any) {
	fmt.Fprintf(h.cfg.stdout, "runner-helper: "+format+"\n", a...)
}

func (h *helper) run(ctx context.Context) error {
	cfg := h.cfg
	bin := cfg.binary
	if bin == "" {
		p, err := exec.LookPath(cfg.tool)
		if err != nil {
			return fail(127, "%s is not in PATH (%s): install it in the image or set -binary (%s)", cfg.tool, os.Getenv("PATH"), envToolBinary)
		}
		bin = p
	}
	cfg.binary = bin
	if cfg.action == contract.ActionCreate && cfg.planApply {
		// Checked before anything runs: without the artifact there is nothing to apply,
		// and planning anew would apply what nobody saw.
		if err := h.checkArtifact(); err != nil {
			return err
		}
	}

	tmp, err := h.tmpDir()
	if err != nil {
		return err
	}
	if err := h.prepareDir(tmp); err != nil {
		return err
	}
	mod, err := scanModule(h.dir)
	if err != nil {
		return fail(1, "%v", err)
	}
	if err := h.configureBackend(mod); err != nil {
		return err
	}
	if err := h.writeVariables(); err != nil {
		return err
	}
	h.env = h.toolEnv(tmp)
	h.tmp = tmp
	if cfg.action == contract.ActionCreate && cfg.planApply {
		if err := h.checkPlanState(); err != nil {
			return err
		}
		if err := h.restoreLockFile(); err != nil {
			return err
		}
	}

	if _, err := h.tool(ctx, nil, "init", "-input=false", "-no-color", backendConfigArgs(cfg.backendConfig)); err != nil {
		return err
	}
	if cfg.action == contract.ActionPlan {
		return h.plan(ctx)
	}
	if cfg.action == contract.ActionDestroy {
		if _, err := h.tool(ctx, nil, "destroy", "-auto-approve", "-input=false", "-no-color"); err != nil {
			return err
		}
		if err := writeJSON(cfg.outputsFile, map[string]json.RawMessage{}); err != nil {
			return err
		}
		if err := writeJSON(cfg.secretOutputsFile, map[string]json.RawMessage{}); err != nil {
			return err
		}
		h.removeState(ctx)
		return nil
	}
	if cfg.planApply {
		if err := h.applyArtifact(ctx); err != nil {
			return err
		}
	} else if _, err := h.tool(ctx, nil, "apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		return err
	}
	var out bytes.Buffer
	if _, err := h.tool(ctx, &out, "output", "-json", "-no-color"); err != nil {
		return err
	}
	plain, secret, err := splitOutputs(out.Bytes())
	if err != nil {
		return fail(1, "read the outputs of %s output -json: %v", cfg.tool, err)
	}
	if err := writeJSON(cfg.outputsFile, plain); err != nil {
		return err
	}
	if err := writeJSON(cfg.secretOutputsFile, secret); err != nil {
		return err
	}
	h.logf("wrote %d output(s) and %d secret output(s): %s", len(plain), len(secret), strings.Join(sortedKeys(plain), ", "))
	return nil
}

// tmpDir is where HOME and TF_DATA_DIR go: the system's temporary directory when it is
// writable (the restricted pod keeps the image's /tmp writable), else a hidden directory in
// SCRIPTS_DIRECTORY, the one place the contract guarantees to be writable.
func (h *helper) tmpDir() (string, error) {
	if h.cfg.tmpDir != "" {
		return h.cfg.tmpDir, os.MkdirAll(h.cfg.tmpDir, 0o700)
	}
	candidates := []string{
		filepath.Join(os.TempDir(), "containerdriver-"+h.cfg.tool),
		filepath.Join(h.cfg.scriptsDir, fallbackTmpName),
	}
	for _, d := range candidates {
		if os.MkdirAll(d, 0o700) == nil && writable(d) {
			return d, nil
		}
	}
	return "", fail(1, "neither %s nor %s is writable", candidates[0], candidates[1])
}

// prepareDir finds the module directory and makes sure the helper can write into it (the
// tfvars and backend override files, the lock file). Files the driver mounts sit in
// directories the kubelet created as root; then the helper works on a copy.
func (h *helper) prepareDir(tmp string) error {
	cfg := h.cfg
	dir := cfg.workingDir
	if dir == "" {
		dir = cfg.scriptsDir
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(cfg.scriptsDir, dir)
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fail(1, "the module directory %s does not exist (SCRIPTS_DIRECTORY=%s, %s=%q)", dir, cfg.scriptsDir, envWorkingDir, cfg.workingDir)
	}
	h.dir = dir
	if isWritable(dir) {
		return nil
	}
	root, rel := cfg.scriptsDir, ""
	if r, err := filepath.Rel(cfg.scriptsDir, dir); err == nil && !strings.HasPrefix(r, "..") {
		rel = r
	} else {
		root = dir
	}
	work := filepath.Join(tmp, "work")
	if err := os.RemoveAll(work); err != nil {
		return fail(1, "clean %s: %v", work, err)
	}
	if err := copyTree(root, work); err != nil {
		return fail(1, "%s is not writable, and copying it to %s failed: %v", dir, work, err)
	}
	h.dir = filepath.Join(work, rel)
	h.logf("%s is not writable (files mounted read-only); working on a copy in %s", dir, h.dir)
	return nil
}

// configureBackend writes the backend override file, or leaves the module's own backend.
func (h *helper) configureBackend(mod *module) error {
	cfg := h.cfg
	override := filepath.Join(h.dir, overrideFileName)
	if err := os.Remove(override); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fail(1, "remove a stale %s: %v", override, err)
	}
	backend := cfg.backend
	if backend == backendAuto {
		if mod.ownBackend {
			h.state = "the module's own backend"
			h.logf("state: the module's own backend block")
			return nil
		}
		backend = backendKubernetes
	}
	settings := map[string]any{}
	if backend == backendKubernetes {
		ns := cfg.stateNS
		if ns == "" {
			var err error
			if ns, err = podNamespace(cfg.saDir); err != nil {
				return fail(1, "kubernetes backend: %v", err)
			}
		}
		suffix := cfg.stateSuffix
		if suffix == "" {
			if cfg.runID == "" {
				return fail(1, "kubernetes backend: %s is not set; set %s or -state-secret-suffix", contract.EnvRunID, envStateSuffix)
			}
			suffix = stateSecretSuffix(cfg.runID)
		} else if err := validSuffix(suffix); err != nil {
			return fail(1, "kubernetes backend: secret suffix %q %v", suffix, err)
		}
		settings = map[string]any{
			"in_cluster_config": true,
			"namespace":         ns,
			"secret_suffix":     suffix,
		}
		h.managedState, h.stateNS, h.stateSuffix = true, ns, suffix
		h.state = fmt.Sprintf("the kubernetes backend's Secret %s/%s", ns, stateSecretName(h.workspace(), suffix))
		h.logf("state: kubernetes backend, Secret %s/%s", ns, stateSecretName(h.workspace(), suffix))
	} else {
		h.state = fmt.Sprintf("the %s backend", backend)
		h.logf("state: %s backend (configured by -backend-config)", backend)
	}
	doc := map[string]any{"terraform": map[string]any{"backend": map[string]any{backend: settings}}}
	if err := writeJSON(override, doc); err != nil {
		return err
	}
	h.backendDoc = doc
	return nil
}

// writeVariables passes the inputs as the module's variables, all of them: both tools
// only warn about a value for an undeclared variable in a variables file (checked with
// tofu 1.12 and terraform 1.11), and the warning tells the author which input went unused,
// where a filter of its own would have to parse HCL to know the declared ones.
func (h *helper) writeVariables() error {
	in, err := readInputs(h.cfg.inputsFile)
	if err != nil {
		return fail(1, "%v", err)
	}
	p := filepath.Join(h.dir, tfvarsFileName)
	if len(in) == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fail(1, "remove a stale %s: %v", p, err)
		}
		return nil
	}
	h.logf("variables from the inputs: %s", strings.Join(sortedKeys(in), ", "))
	return writeJSON(p, in)
}

// toolEnv is the tool's environment: the pod's, made fit for a non-interactive run by a
// user without a home directory.
func (h *helper) toolEnv(tmp string) []string {
	set := map[string]string{
		"TF_IN_AUTOMATION":   "1",
		"TF_INPUT":           "0",
		"CHECKPOINT_DISABLE": "1",
	}
	if home := h.cfg.getenv("HOME"); home == "" || home == "/" || !writable(home) {
		set["HOME"] = filepath.Join(tmp, "home")
		_ = os.MkdirAll(set["HOME"], 0o700)
	}
	if h.cfg.getenv("TF_DATA_DIR") == "" {
		set["TF_DATA_DIR"] = filepath.Join(tmp, "data")
	}
	env := make([]string, 0, len(os.Environ())+len(set))
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			env = append(env, kv)
		}
	}
	for _, k := range sortedKeys(set) {
		env = append(env, k+"="+set[k])
	}
	return env
}

func (h *helper) workspace() string {
	if ws := h.cfg.getenv("TF_WORKSPACE"); ws != "" {
		return ws
	}
	return "default"
}

// tool runs one command of the tool in the module directory. Its output streams to the
// container log, except stdout when captured (output -json holds the secret outputs). A
// failure carries the tail of its stderr, without colours, and the tool's exit code.
func (h *helper) tool(ctx context.Context, capture io.Writer, args ...any) (int, error) {
	return h.toolExit(ctx, capture, nil, args...)
}

// toolExit is tool for a command whose exit codes in ok are answers, not failures: plan
// -detailed-exitcode exits 2 when there are changes.
func (h *helper) toolExit(ctx context.Context, capture io.Writer, ok []int, args ...any) (int, error) {
	var argv []string
	for _, a := range args {
		switch v := a.(type) {
		case string:
			argv = append(argv, v)
		case []string:
			argv = append(argv, v...)
		}
	}
	h.logf("%s %s", h.cfg.tool, strings.Join(argv, " "))
	cmd := exec.CommandContext(ctx, h.cfg.binary, argv...)
	cmd.Dir = h.dir
	cmd.Env = h.env
	// Interrupt, not kill: the tool then stops cleanly and releases its state lock.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 25 * time.Second
	errTail, outTail := newTailBuffer(errorTailBytes), newTailBuffer(errorTailBytes)
	cmd.Stderr = io.MultiWriter(h.cfg.stderr, errTail)
	if capture != nil {
		cmd.Stdout = io.MultiWriter(capture, outTail)
	} else {
		cmd.Stdout = io.MultiWriter(h.cfg.stdout, outTail)
	}
	start := time.Now()
	err := cmd.Run()
	if err == nil {
		h.logf("%s %s done in %s", h.cfg.tool, argv[0], time.Since(start).Round(100*time.Millisecond))
		return 0, nil
	}
	code := 1
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() > 0 {
		code = exitErr.ExitCode()
	} else if !errors.As(err, &exitErr) {
		return code, fail(code, "run %s %s: %v", h.cfg.tool, argv[0], err)
	}
	if slices.Contains(ok, code) && ctx.Err() == nil {
		h.logf("%s %s done in %s (exit code %d)", h.cfg.tool, argv[0], time.Since(start).Round(100*time.Millisecond), code)
		return code, nil
	}
	detail := strings.TrimSpace(stripANSI(errTail.String()))
	if detail == "" && capture == nil {
		detail = strings.TrimSpace(stripANSI(outTail.String()))
	}
	msg := fmt.Sprintf("%s %s failed (exit code %d)", h.cfg.tool, argv[0], code)
	if ctx.Err() != nil {
		msg = fmt.Sprintf("%s %s was interrupted (exit code %d)", h.cfg.tool, argv[0], code)
	}
	if detail != "" {
		msg += ":\n\n" + detail
	}
	return code, fail(code, "%s", msg)
}

// removeState deletes the state Secret and Lease the helper's kubernetes backend left
// behind once destroy has emptied them. A failure here does not undo the destroy, so it
// is reported as a warning.
func (h *helper) removeState(ctx context.Context) {
	if !h.managedState {
		return
	}
	if h.cfg.keepState {
		h.logf("keeping the state Secret (%s)", envKeepState)
		return
	}
	k, err := inClusterClient(h.cfg.saDir, h.cfg.getenv)
	if err == nil {
		var deleted []string
		deleted, err = k.deleteState(ctx, h.stateNS, h.workspace(), h.stateSuffix)
		if len(deleted) > 0 {
			h.logf("removed the emptied state: %s", strings.Join(deleted, ", "))
		}
	}
	if err != nil {
		fmt.Fprintf(h.cfg.stderr, "runner-helper: warning: the state is destroyed but its Secret was not removed: %v\n", err)
	}
}

func backendConfigArgs(values []string) []string {
	args := make([]string, 0, len(values))
	for _, v := range values {
		args = append(args, "-backend-config="+v)
	}
	return args
}

// splitOutputs turns `output -json` into flat name -> value objects, by the sensitive flag.
func splitOutputs(b []byte) (plain, secret map[string]json.RawMessage, err error) {
	var outs map[string]struct {
		Sensitive bool            `json:"sensitive"`
		Value     json.RawMessage `json:"value"`
	}
	if err := decodeToolJSON(b, &outs); err != nil {
		return nil, nil, err
	}
	plain, secret = map[string]json.RawMessage{}, map[string]json.RawMessage{}
	for name, o := range outs {
		v := o.Value
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		if o.Sensitive {
			secret[name] = v
		} else {
			plain[name] = v
		}
	}
	return plain, secret, nil
}

// decodeToolJSON decodes the JSON object a -json command of the tool printed. OpenTofu
// prints CLI configuration warnings to stdout even with -json: the object is then the first
// line that opens one.
func decodeToolJSON(b []byte, v any) error {
	err := json.Unmarshal(b, v)
	if err == nil {
		return nil
	}
	i := bytes.Index(b, []byte("\n{"))
	if i < 0 || json.NewDecoder(bytes.NewReader(b[i+1:])).Decode(v) != nil {
		return err
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fail(1, "encode %s: %v", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fail(1, "write %s: %v", path, err)
	}
	return nil
}

// writeErrorFile writes ERROR_FILE, keeping its tail within the driver's limit.
func writeErrorFile(path, msg string) {
	if path == "" {
		return
	}
	if len(msg) > contract.MaxErrorBytes {
		msg = msg[len(msg)-contract.MaxErrorBytes:]
	}
	_ = os.WriteFile(path, []byte(msg+"\n"), 0o644)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// sortedKeys gives a map's keys in order, so what is built from a map is deterministic.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
