package imagebuild

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// imageConfig keeps every field of a base image's configuration it does not know, so
// that a base image's settings (exposed ports, volumes, ...) survive.
type imageConfig map[string]json.RawMessage

func buildConfig(spec Spec, base *baseImage, diffID string) ([]byte, error) {
	cfg := imageConfig{}
	if base != nil {
		for k, v := range base.config {
			cfg[k] = v
		}
	}
	inner := map[string]json.RawMessage{}
	if raw, ok := cfg["config"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &inner); err != nil {
			return nil, fmt.Errorf("base image config: %w", err)
		}
	}
	var rootfs struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	}
	if raw, ok := cfg["rootfs"]; ok {
		if err := json.Unmarshal(raw, &rootfs); err != nil {
			return nil, fmt.Errorf("base image rootfs: %w", err)
		}
	}
	var history []json.RawMessage
	if raw, ok := cfg["history"]; ok {
		if err := json.Unmarshal(raw, &history); err != nil {
			return nil, fmt.Errorf("base image history: %w", err)
		}
	}

	set := func(m map[string]json.RawMessage, k string, v any) error {
		b, err := json.Marshal(v)
		m[k] = b
		return err
	}
	var errs []error
	if spec.Entrypoint != nil {
		errs = append(errs, set(inner, "Entrypoint", spec.Entrypoint))
		if spec.Cmd == nil {
			delete(inner, "Cmd")
		}
	}
	if spec.Cmd != nil {
		errs = append(errs, set(inner, "Cmd", spec.Cmd))
	}
	var env []string
	if raw, ok := inner["Env"]; ok {
		_ = json.Unmarshal(raw, &env)
	}
	env, err := mergeEnv(env, spec.Env)
	if err != nil {
		return nil, err
	}
	errs = append(errs, set(inner, "Env", env))
	if spec.User != "" {
		errs = append(errs, set(inner, "User", spec.User))
	}
	if spec.WorkingDir != "" {
		if !strings.HasPrefix(spec.WorkingDir, "/") {
			return nil, fmt.Errorf("working directory %q must be absolute", spec.WorkingDir)
		}
		errs = append(errs, set(inner, "WorkingDir", spec.WorkingDir))
	}
	if len(spec.Labels) > 0 {
		labels := map[string]string{}
		if raw, ok := inner["Labels"]; ok {
			_ = json.Unmarshal(raw, &labels)
		}
		for k, v := range spec.Labels {
			labels[k] = v
		}
		errs = append(errs, set(inner, "Labels", labels))
	}

	rootfs.Type = "layers"
	rootfs.DiffIDs = append(rootfs.DiffIDs, diffID)
	history = append(history, json.RawMessage(`{"created":"1970-01-01T00:00:00Z","created_by":"containerdriver imagebuild"}`))
	errs = append(errs,
		set(cfg, "config", inner),
		set(cfg, "rootfs", rootfs),
		set(cfg, "history", history),
		set(cfg, "created", epoch.Format(time.RFC3339)),
	)
	if base == nil {
		errs = append(errs, set(cfg, "architecture", "amd64"), set(cfg, "os", "linux"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// encoding/json sorts map keys: the bytes are deterministic.
	return json.Marshal(cfg)
}

// mergeEnv overlays override on base by variable name and adds DefaultPath when no PATH
// is set.
func mergeEnv(base, override []string) ([]string, error) {
	out := append([]string(nil), base...)
	index := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		index[k] = i
	}
	for _, kv := range override {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("environment entry %q: want NAME=value", kv)
		}
		if i, ok := index[k]; ok {
			out[i] = kv
			continue
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	if _, ok := index["PATH"]; !ok {
		out = append([]string{DefaultPath}, out...)
	}
	return out, nil
}
