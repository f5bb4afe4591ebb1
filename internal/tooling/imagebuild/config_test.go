package imagebuild

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMergeEnv(t *testing.T) {
	for _, tc := range []struct {
		name           string
		base, override []string
		want           []string
		err            string
	}{
		{name: "nothing set adds the default PATH", want: []string{DefaultPath}},
		{
			name:     "override replaces by name, in place",
			base:     []string{"PATH=/bin", "A=1", "B=2"},
			override: []string{"A=one", "C=3"},
			want:     []string{"PATH=/bin", "A=one", "B=2", "C=3"},
		},
		{
			name:     "a PATH from the override is kept",
			override: []string{"PATH=/opt/bin", "X="},
			want:     []string{"PATH=/opt/bin", "X="},
		},
		{
			name:     "a value may hold =",
			base:     []string{"PATH=/bin"},
			override: []string{"OPTS=a=b"},
			want:     []string{"PATH=/bin", "OPTS=a=b"},
		},
		{
			name:     "the later of two overrides wins",
			base:     []string{"PATH=/bin"},
			override: []string{"A=1", "A=2"},
			want:     []string{"PATH=/bin", "A=2"},
		},
		{name: "no =", override: []string{"NAME"}, err: `environment entry "NAME"`},
		{name: "no name", override: []string{"=v"}, err: `environment entry "=v"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := append([]string(nil), tc.base...)
			got, err := mergeEnv(tc.base, tc.override)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
			if d := cmp.Diff(base, tc.base); d != "" {
				t.Errorf("base changed (-before +after)\n%s", d)
			}
		})
	}
}

// configOf decodes what buildConfig wrote.
func configOf(t *testing.T, b []byte) (top map[string]json.RawMessage, inner map[string]any) {
	t.Helper()
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(top["config"], &inner); err != nil {
		t.Fatal(err)
	}
	return top, inner
}

func TestBuildConfig_WithoutBase(t *testing.T) {
	b, err := buildConfig(Spec{
		Entrypoint: []string{"/bin/run"},
		Env:        []string{"A=1"},
		User:       "1000",
		WorkingDir: "/work",
		Labels:     map[string]string{"l": "v"},
	}, nil, "sha256:layer")
	if err != nil {
		t.Fatal(err)
	}
	top, inner := configOf(t, b)
	want := map[string]any{
		"Entrypoint": []any{"/bin/run"},
		"Env":        []any{DefaultPath, "A=1"},
		"User":       "1000",
		"WorkingDir": "/work",
		"Labels":     map[string]any{"l": "v"},
	}
	if d := cmp.Diff(want, inner); d != "" {
		t.Errorf("config (-want +got)\n%s", d)
	}
	for k, v := range map[string]string{"architecture": `"amd64"`, "os": `"linux"`, "created": `"1970-01-01T00:00:00Z"`, "rootfs": `{"type":"layers","diff_ids":["sha256:layer"]}`} {
		if string(top[k]) != v {
			t.Errorf("%s = %s, want %s", k, top[k], v)
		}
	}
	again, err := buildConfig(Spec{Entrypoint: []string{"/bin/run"}, Env: []string{"A=1"}, User: "1000", WorkingDir: "/work", Labels: map[string]string{"l": "v"}}, nil, "sha256:layer")
	if err != nil || string(again) != string(b) {
		t.Errorf("not deterministic: %s\n%s (%v)", b, again, err)
	}
}

func TestBuildConfig_OnABase(t *testing.T) {
	base := &baseImage{config: imageConfig{
		"architecture": json.RawMessage(`"arm64"`),
		"os":           json.RawMessage(`"linux"`),
		"config":       json.RawMessage(`{"Entrypoint":["/old"],"Cmd":["old"],"Env":["PATH=/base","B=1"],"ExposedPorts":{"80/tcp":{}},"Labels":{"keep":"1","l":"old"}}`),
		"rootfs":       json.RawMessage(`{"type":"layers","diff_ids":["sha256:base"]}`),
		"history":      json.RawMessage(`[{"created_by":"base"}]`),
	}}
	for _, tc := range []struct {
		name string
		spec Spec
		want map[string]any
	}{
		{
			name: "entrypoint clears the base's cmd",
			spec: Spec{Entrypoint: []string{"/new"}, Env: []string{"B=2"}, Labels: map[string]string{"l": "new"}},
			want: map[string]any{
				"Entrypoint":   []any{"/new"},
				"Env":          []any{"PATH=/base", "B=2"},
				"ExposedPorts": map[string]any{"80/tcp": map[string]any{}},
				"Labels":       map[string]any{"keep": "1", "l": "new"},
			},
		},
		{
			name: "entrypoint and cmd",
			spec: Spec{Entrypoint: []string{"/new"}, Cmd: []string{"arg"}},
			want: map[string]any{
				"Entrypoint":   []any{"/new"},
				"Cmd":          []any{"arg"},
				"Env":          []any{"PATH=/base", "B=1"},
				"ExposedPorts": map[string]any{"80/tcp": map[string]any{}},
				"Labels":       map[string]any{"keep": "1", "l": "old"},
			},
		},
		{
			name: "cmd only keeps the entrypoint",
			spec: Spec{Cmd: []string{"arg"}},
			want: map[string]any{
				"Entrypoint":   []any{"/old"},
				"Cmd":          []any{"arg"},
				"Env":          []any{"PATH=/base", "B=1"},
				"ExposedPorts": map[string]any{"80/tcp": map[string]any{}},
				"Labels":       map[string]any{"keep": "1", "l": "old"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := buildConfig(tc.spec, base, "sha256:new")
			if err != nil {
				t.Fatal(err)
			}
			top, inner := configOf(t, b)
			if d := cmp.Diff(tc.want, inner); d != "" {
				t.Errorf("config (-want +got)\n%s", d)
			}
			if string(top["architecture"]) != `"arm64"` {
				t.Errorf("architecture %s: the base's is kept", top["architecture"])
			}
			if string(top["rootfs"]) != `{"type":"layers","diff_ids":["sha256:base","sha256:new"]}` {
				t.Errorf("rootfs %s", top["rootfs"])
			}
			var history []map[string]string
			if err := json.Unmarshal(top["history"], &history); err != nil || len(history) != 2 || history[0]["created_by"] != "base" {
				t.Errorf("history %s (%v)", top["history"], err)
			}
		})
	}
	if string(base.config["config"]) == "" || !strings.Contains(string(base.config["config"]), `"Cmd":["old"]`) {
		t.Errorf("the base's configuration was changed: %s", base.config["config"])
	}
}

func TestBuildConfig_Errors(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		base *baseImage
		err  string
	}{
		{name: "relative working directory", spec: Spec{WorkingDir: "work"}, err: `working directory "work" must be absolute`},
		{name: "bad env", spec: Spec{Env: []string{"X"}}, err: `environment entry "X"`},
		{name: "bad base config", base: &baseImage{config: imageConfig{"config": json.RawMessage(`[1]`)}}, err: "base image config"},
		{name: "bad base rootfs", base: &baseImage{config: imageConfig{"rootfs": json.RawMessage(`"x"`)}}, err: "base image rootfs"},
		{name: "bad base history", base: &baseImage{config: imageConfig{"history": json.RawMessage(`{}`)}}, err: "base image history"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := buildConfig(tc.spec, tc.base, "sha256:x")
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
}
