package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScanModule(t *testing.T) {
	for _, tc := range []struct {
		name        string
		files       map[string]string
		wantBackend bool
		wantErr     string
	}{
		{
			name: "no backend",
			files: map[string]string{
				"main.tf": "variable \"name\" {\n  type = string\n}\n" +
					"# backend \"s3\" {\n// cloud {\nterraform {\n  required_version = \">= 1.6\"\n}\n",
				"README.md": "backend \"s3\" {\n",
			},
		},
		{name: "backend block", files: map[string]string{"backend.tf": "terraform {\n  backend \"s3\" {\n  }\n}\n"}, wantBackend: true},
		{name: "cloud block", files: map[string]string{"main.tf": "terraform {\n  cloud {\n    organization = \"o\"\n  }\n}\n"}, wantBackend: true},
		{
			name: "json",
			files: map[string]string{
				"main.tf.json": `{"terraform": [{"backend": {"local": {}}}], "variable": {"a": {}, "b": {"default": 1}}}`,
				"more.tf.json": `{"variable": [{"c": {}}]}`,
			},
			wantBackend: true,
		},
		{name: "the helper's own override is not the module's", files: map[string]string{"main.tf": "", overrideFileName: `{"terraform": {"backend": {"kubernetes": {}}}}`}},
		{name: "empty", files: map[string]string{"notes.txt": "x"}, wantErr: "no .tf or .tf.json file"},
		{name: "bad json", files: map[string]string{"main.tf.json": "{"}, wantErr: "main.tf.json: not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, c := range tc.files {
				writeFile(t, filepath.Join(dir, n), c)
			}
			m, err := scanModule(dir)
			if endsWithError(t, err, tc.wantErr) {
				return
			}
			if m.ownBackend != tc.wantBackend {
				t.Errorf("ownBackend = %v, want %v", m.ownBackend, tc.wantBackend)
			}
		})
	}
}

func TestCopyTree(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "copy")
	writeFile(t, filepath.Join(src, "infra", "main.tf"), "x")
	writeFile(t, filepath.Join(src, "infra", ".terraform", "stale"), "x")
	writeFile(t, filepath.Join(src, "modules", "m", "m.tf"), "y")
	writeFile(t, filepath.Join(src, "outputs.json"), "{}")
	writeFile(t, filepath.Join(src, ".containerdriver", "data"), "x")
	if err := os.Symlink("../modules", filepath.Join(src, "infra", "mods")); err != nil {
		t.Fatal(err)
	}
	if err := copyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dst, p)
		if !d.IsDir() {
			got = append(got, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"infra/main.tf", "infra/mods", "modules/m/m.tf"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("copied files (-want +got):\n%s", diff)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "infra", "mods", "m", "m.tf")); err != nil || string(b) != "y" {
		t.Errorf("relative symlink into the copy does not resolve: %q, %v", b, err)
	}
}

func TestReadInputs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "inputs.json")
	writeFile(t, p, `{"a": 1, "b": {"c": [true]}}`)
	in, err := readInputs(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(in)
	if string(b) != `{"a":1,"b":{"c":[true]}}` {
		t.Errorf("inputs = %s", b)
	}
	writeFile(t, p, `[1]`)
	if _, err := readInputs(p); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
		t.Errorf("a JSON array was accepted as inputs: %v", err)
	}
	if _, err := readInputs(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a missing inputs file gave %v", err)
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
