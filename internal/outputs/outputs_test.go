package outputs

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

const secretWord = "hunter2-very-secret"

func TestParseObject(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]any
		wantErr string
	}{
		{name: "object", in: `{"a":"b","n":12345678901234567890,"f":1.50,"l":[1,true,null],"o":{"x":"y"}}`, want: map[string]any{
			"a": "b", "n": json.Number("12345678901234567890"), "f": json.Number("1.50"),
			"l": []any{json.Number("1"), true, nil}, "o": map[string]any{"x": "y"},
		}},
		{name: "empty means {}", in: "", want: map[string]any{}},
		{name: "blank means {}", in: " \n\t", want: map[string]any{}},
		{name: "surrounding whitespace", in: "\n {\"a\":1}\n", want: map[string]any{"a": json.Number("1")}},
		{name: "array", in: `["` + secretWord + `"]`, wantErr: "outputs.json is not a valid JSON object: it holds an array"},
		{name: "string", in: `"` + secretWord + `"`, wantErr: "outputs.json is not a valid JSON object: it holds a string"},
		{name: "number", in: `42`, wantErr: "outputs.json is not a valid JSON object: it holds a number"},
		{name: "null", in: `null`, wantErr: "outputs.json is not a valid JSON object: it holds null"},
		{name: "syntax error", in: `{"password": ` + secretWord + `}`, wantErr: "outputs.json is not a valid JSON object: syntax error at byte 14"},
		{name: "truncated", in: `{"password": "` + secretWord, wantErr: "outputs.json is not a valid JSON object: it ends early"},
		{name: "two documents", in: `{}{"a":"` + secretWord + `"}`, wantErr: "outputs.json is not a valid JSON object: syntax error at byte 3"},
		{name: "not utf-8", in: "{\"a\":\"\xff\"}", wantErr: "outputs.json is not a valid JSON object: it is not UTF-8 text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseObject("outputs.json", []byte(tt.in))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseObject() = %v, want error %q", got, tt.wantErr)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("error = %q, want %q", err, tt.wantErr)
				}
				if !errors.Is(err, ErrInvalidObject) {
					t.Errorf("error %q does not wrap ErrInvalidObject", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseObject(): %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseObject() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadFiles(t *testing.T) {
	commit := strings.Repeat("ab12", 10)
	type files struct{ outputs, secret, errText, commit *string }
	s := func(v string) *string { return &v }
	tests := []struct {
		name  string
		files files
		want  Harvest
	}{
		{name: "no files", want: Harvest{}},
		{
			name: "all files",
			files: files{
				outputs: s(`{"region":"eu-north-1"}` + "\n"), secret: s(`{"password":"` + secretWord + `"}`),
				errText: s("boom\n"), commit: s(commit + "\n"),
			},
			want: Harvest{
				Outputs: []byte(`{"region":"eu-north-1"}` + "\n"), SecretOutputs: []byte(`{"password":"` + secretWord + `"}`),
				ErrorText: "boom\n",
			},
		},
		{name: "empty files", files: files{outputs: s(""), secret: s("  \n"), errText: s(""), commit: s("")}, want: Harvest{}},
		{
			name:  "invalid secret outputs",
			files: files{outputs: s(`{"a":1}`), secret: s(`{"password": ` + secretWord + `}`)},
			want: Harvest{
				Outputs:  []byte(`{"a":1}`),
				Problems: []string{"DIR/secret-outputs.json is not a valid JSON object: syntax error at byte 14"},
			},
		},
		{
			name:  "array outputs",
			files: files{outputs: s(`["` + secretWord + `"]`)},
			want:  Harvest{Problems: []string{"DIR/outputs.json is not a valid JSON object: it holds an array"}},
		},
		{
			// The runner can write it: the commit comes from git-init's termination message.
			name:  "commit file is not read",
			files: files{commit: s("not a commit")},
			want:  Harvest{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			paths := []string{contract.OutputsFile(dir), contract.SecretOutputsFile(dir), contract.ErrorFile(dir), contract.GitCommitFile(dir)}
			for i, content := range []*string{tt.files.outputs, tt.files.secret, tt.files.errText, tt.files.commit} {
				if content != nil {
					writeFile(t, paths[i], *content)
				}
			}
			got := ReadFiles(Files{Dir: dir, Outputs: paths[0], SecretOutputs: paths[1], Error: paths[2]})
			for i, p := range got.Problems {
				if strings.Contains(p, secretWord) {
					t.Errorf("problem %q quotes the secret", p)
				}
				got.Problems[i] = strings.ReplaceAll(p, dir, "DIR")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadFiles() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadFiles_TooLarge(t *testing.T) {
	dir := t.TempDir()
	p := contract.OutputsFile(dir)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: its size is what matters, not its content.
	if err := f.Truncate(contract.MaxOutputsBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got := ReadFiles(Files{Dir: dir, Outputs: p})
	want := Harvest{Problems: []string{p + " is 16777217 bytes, larger than the 16777216 bytes allowed; it was not stored"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadFiles() mismatch (-want +got):\n%s", diff)
	}
	// The executor types findings by IsSizeProblem: this one is, an invalid file's is not.
	if len(got.Problems) != 1 || !IsSizeProblem(got.Problems[0]) {
		t.Errorf("IsSizeProblem(%q) = false", got.Problems)
	}
	writeFile(t, p, "[1]")
	if got := ReadFiles(Files{Dir: dir, Outputs: p}); len(got.Problems) != 1 || IsSizeProblem(got.Problems[0]) {
		t.Errorf("a list in the outputs file: problems %q, IsSizeProblem true or no problem", got.Problems)
	}
}

func TestReadFiles_LongErrorKeepsTail(t *testing.T) {
	dir := t.TempDir()
	p := contract.ErrorFile(dir)
	// Multi-byte characters, so the cut may fall inside one.
	body := strings.Repeat("é", contract.MaxErrorBytes) + "the real cause\n"
	writeFile(t, p, body)
	got := ReadFiles(Files{Dir: dir, Error: p})
	if len(got.Problems) != 0 {
		t.Fatalf("problems: %v", got.Problems)
	}
	if len(got.ErrorText) > contract.MaxErrorBytes {
		t.Errorf("error text is %d bytes, more than %d", len(got.ErrorText), contract.MaxErrorBytes)
	}
	first, rest, _ := strings.Cut(got.ErrorText, "\n")
	if !strings.HasPrefix(first, "[") || !strings.HasSuffix(first, " earlier bytes omitted]") {
		t.Errorf("first line = %q, want the omission marker", first)
	}
	if !strings.HasSuffix(rest, "the real cause\n") || !strings.HasSuffix(body, rest) {
		t.Errorf("error text does not end with the file's tail")
	}
	if !strings.HasPrefix(rest, "é") {
		t.Errorf("tail does not start on a character boundary: %q", rest[:4])
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Clean(p), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
