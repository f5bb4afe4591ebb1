package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

func TestParseSecretVariables(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]string
		err      string
	}{
		{"lines", "# a comment\n\nAPI_TOKEN=abc=def\nexport OTHER= spaced \r\nEMPTY=\n", map[string]string{"API_TOKEN": "abc=def", "OTHER": " spaced ", "EMPTY": ""}, ""},
		{"json", ` {"API_TOKEN": "abc", "B": ""}`, map[string]string{"API_TOKEN": "abc", "B": ""}, ""},
		{"json not strings", `{"N": 3}`, nil, `"N" is a number; every value must be a string`},
		{"bad json", `{"N": `, nil, "not a JSON object"},
		{"bad line", "API_TOKEN=abc\nhunter2\n", nil, "line 2 is not KEY=VALUE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSecretVariables("f", []byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error shows the line's content: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseJSONObject(t *testing.T) {
	got, err := parseJSONObject("inputs", "in.json", []byte(`{"name": "Ada", "big": 12345678901234567890, "nested": {"a": [1, true]}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	if want := `{"big":12345678901234567890,"name":"Ada","nested":{"a":[1,true]}}`; string(b) != want {
		t.Errorf("inputs re-encoded = %s, want %s (numbers kept as written)", b, want)
	}
	for in, want := range map[string]string{
		`["a"]`:      "must be a JSON object",
		`"a string"`: "not a string",
		`{} {}`:      "more than one JSON value",
		`{"a": }`:    "not JSON",
	} {
		_, err := parseJSONObject("inputs", "in.json", []byte(in))
		if err == nil || !strings.Contains(err.Error(), "--inputs in.json") || !strings.Contains(err.Error(), want) {
			t.Errorf("parseJSONObject(%s) error = %v, want %q naming the flag and file", in, err, want)
		}
	}
}

func TestReadFilesDir(t *testing.T) {
	dir := t.TempDir()
	write := func(p, content string) {
		t.Helper()
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.tf", "a")
	write("modules/x/main.tf", "b")
	write(".terraform/providers/p", "cache")
	write(".git/HEAD", "ref")
	if err := os.Symlink("main.tf", filepath.Join(dir, "link.tf")); err != nil {
		t.Fatal(err)
	}
	got, err := readFilesDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"main.tf": "a", "modules/x/main.tf": "b", "link.tf": "a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	write("bin", "\xff\xfe")
	if _, err := readFilesDir(dir); err == nil || !strings.Contains(err.Error(), "not UTF-8") {
		t.Errorf("a binary file: error = %v, want not UTF-8", err)
	}
	if _, err := readFilesDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no files") {
		t.Errorf("an empty directory: error = %v, want no files", err)
	}
}

func TestDefaultRunID(t *testing.T) {
	a := defaultRunID(&commonOptions{image: "example.com/r:1", filesDir: "m"})
	if b := defaultRunID(&commonOptions{image: "example.com/r@sha256:" + strings.Repeat("a", 64), filesDir: "m"}); a != b {
		t.Errorf("the run id changed with the image's tag or digest: %s, %s", a, b)
	}
	if b := defaultRunID(&commonOptions{image: "example.com/r:1", filesDir: "other"}); a == b {
		t.Errorf("two files directories share the run id %s", a)
	}
	if len(a) != 36 || strings.Count(a, "-") != 4 || strings.Trim(a[24:], "0123456789") == "" {
		t.Errorf("run id %q is not a UUID-shaped id ending in a letter", a)
	}
}

func TestDescribeValidation(t *testing.T) {
	spec := &containerdriver.RunSpec{RunID: "x", Job: containerdriver.JobSpec{Image: "a.b/c:1", SharedDirectory: "/workspace",
		SecretVariables: map[string]string{"ACTION": "x"}}, Files: map[string]string{"../x": "y"}}
	msg, ok := describeValidation(spec.Validate())
	if !ok {
		t.Fatal("not a validation error")
	}
	for _, want := range []string{`--secret-variables ["ACTION"]: is set by the driver`, `--files ["../x"]:`} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not contain %q", msg, want)
		}
	}
}
