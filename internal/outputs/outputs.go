// Package outputs is the codec between outputs-fetcher, which reads the runner's files
// inside the Job's pod and stores them as ConfigMaps and Secrets, and the executor, which
// reads those objects back. Both sides use it so they agree on names, keys, labels and
// chunking.
//
// Non-sensitive outputs go to ConfigMaps; secret outputs and the error
// text (which may echo a credential) go to Secrets only. A file larger than one object is
// split into chunks of at most contract.ChunkSize bytes, never truncated.
package outputs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/sharedfile"
)

// Harvest is what outputs-fetcher collects from the shared directory after the runner ended.
type Harvest struct {
	// Outputs is the raw OUTPUTS_FILE content, a valid JSON object, or nil when the file is
	// absent, empty or invalid (an invalid file is reported in Problems).
	Outputs []byte
	// SecretOutputs is the raw SECRET_OUTPUTS_FILE content, with the same rules as Outputs.
	SecretOutputs []byte
	// ErrorText is ERROR_FILE; when longer than contract.MaxErrorBytes only its tail is kept.
	ErrorText string
	// Problems are the sidecar's own findings about the files: invalid JSON, not an object,
	// too large, unreadable. They name the file and never quote its content.
	Problems []string
	// StateBytes is the size of the state archive saved for the run, when it has a state
	// directory.
	StateBytes int64
	// StateError says why the state directory could not be saved.
	StateError string
	// ContractVersion is the contract version outputs-fetcher wrote the objects with;
	// empty for sidecars older than the versioning (they speak version 1).
	ContractVersion string
}

// ErrInvalidObject is wrapped by the errors ParseObject returns for content that is not a
// JSON object.
var ErrInvalidObject = errors.New("not a valid JSON object")

// Files names the runner's files that outputs-fetcher reads.
type Files struct {
	// Dir is the shared directory. Each file must be a regular file inside it, with one
	// link, reached without a symbolic link (see internal/sharedfile): anything else is a
	// problem naming the file, and is not read.
	Dir string
	// Outputs, SecretOutputs and Error are OUTPUTS_FILE, SECRET_OUTPUTS_FILE and
	// ERROR_FILE; an empty name is not read.
	Outputs, SecretOutputs, Error string
	// ConvertOutputs, when set, turns the content of Outputs into JSON before it is
	// checked (the container deployer's exports may be YAML). Its errors must not quote
	// the content.
	ConvertOutputs func(name string, content []byte) ([]byte, error)
}

// ReadFiles reads the runner's files. An empty name or an absent file is not a problem: the
// runner may have had nothing to say. Every finding is recorded in Harvest.Problems; it
// never fails.
//
// The commit git-init checked out is not among them: the runner can write any file of the
// shared directory, so the executor takes the commit from git-init's termination message.
func ReadFiles(f Files) Harvest {
	var h Harvest
	r := reader{dir: f.Dir, problems: &h.Problems}
	h.Outputs = r.objectFile(f.Outputs, f.ConvertOutputs)
	h.SecretOutputs = r.objectFile(f.SecretOutputs, nil)
	h.ErrorText = r.tail(f.Error, contract.MaxErrorBytes)
	return h
}

type reader struct {
	dir      string
	problems *[]string
}

// sizeProblemMark ends every finding about a file too large to store: the findings travel
// as text (a JSON list in the outputs ConfigMap), and IsSizeProblem tells them apart.
const sizeProblemMark = " allowed; it was not stored"

// IsSizeProblem tells whether a finding in Harvest.Problems is about a file too large
// to be stored (the file was then not read at all).
func IsSizeProblem(p string) bool { return strings.HasSuffix(p, sizeProblemMark) }

func (r reader) problem(format string, args ...any) {
	*r.problems = append(*r.problems, fmt.Sprintf(format, args...))
}

// open opens name through sharedfile; (nil, nil) when it does not exist.
func (r reader) open(name string) *os.File {
	f, err := sharedfile.Open(r.dir, name)
	var se *sharedfile.Error
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case errors.As(err, &se):
		r.problem("%v", se)
		return nil
	case err != nil:
		r.problem("could not read %s: %v", name, unwrapPathError(err))
		return nil
	}
	return f
}

// objectFile returns the file's bytes when it holds a JSON object, nil otherwise.
func (r reader) objectFile(name string, convert func(string, []byte) ([]byte, error)) []byte {
	b, ok := r.limited(name, contract.MaxOutputsBytes)
	if !ok || len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if convert != nil {
		var err error
		if b, err = convert(name, b); err != nil {
			r.problem("%v", err)
			return nil
		}
	}
	if err := validateObject(name, b); err != nil {
		r.problem("%v", err)
		return nil
	}
	return b
}

// limited reads at most limit bytes of name; a larger file is a problem, not a
// truncation, because a cut JSON document would be misleading.
func (r reader) limited(name string, limit int64) ([]byte, bool) {
	if name == "" {
		return nil, false
	}
	f := r.open(name)
	if f == nil {
		return nil, false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		r.problem("could not read %s: %v", name, unwrapPathError(err))
		return nil, false
	}
	if int64(len(b)) > limit {
		size := "more than " + fmt.Sprint(limit)
		if st, err := f.Stat(); err == nil {
			size = fmt.Sprint(st.Size())
		}
		r.problem("%s is %s bytes, larger than the %d bytes"+sizeProblemMark, name, size, limit)
		return nil, false
	}
	return b, true
}

// tail returns the last limit bytes of name (starting on a character boundary), with
// a first line saying how much was left out.
func (r reader) tail(name string, limit int) string {
	if name == "" {
		return ""
	}
	f := r.open(name)
	if f == nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		r.problem("could not read %s: %v", name, unwrapPathError(err))
		return ""
	}
	if st.Size() <= int64(limit) {
		b, err := io.ReadAll(io.LimitReader(f, int64(limit)))
		if err != nil {
			r.problem("could not read %s: %v", name, unwrapPathError(err))
			return ""
		}
		return string(b)
	}
	// The marker's length depends on the number it carries; reserve room for the longest.
	marker := func(n int64) string { return fmt.Sprintf("[%d earlier bytes omitted]\n", n) }
	keep := limit - len(marker(st.Size()))
	b := make([]byte, keep)
	if _, err := f.ReadAt(b, st.Size()-int64(keep)); err != nil && !errors.Is(err, io.EOF) {
		r.problem("could not read %s: %v", name, unwrapPathError(err))
		return ""
	}
	for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
		b = b[1:]
	}
	return marker(st.Size()-int64(len(b))) + string(b)
}

// unwrapPathError drops the path from an *os.PathError, which the caller names already.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// validateObject checks that b is UTF-8 text holding one JSON object, without building
// it in memory. Errors name the file and the byte offset, never the content: the encoding/json
// syntax errors quote the offending character, which could belong to a secret.
func validateObject(name string, b []byte) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("%s is %w: it is not UTF-8 text", name, ErrInvalidObject)
	}
	if !json.Valid(b) {
		var raw json.RawMessage
		err := json.Unmarshal(b, &raw)
		var se *json.SyntaxError
		if errors.As(err, &se) && se.Offset < int64(len(b)) {
			return fmt.Errorf("%s is %w: syntax error at byte %d", name, ErrInvalidObject, se.Offset)
		}
		return fmt.Errorf("%s is %w: it ends early", name, ErrInvalidObject)
	}
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("%s is %w: it holds %s", name, ErrInvalidObject, kindOf(t))
	}
	return nil
}

// kindOf names the JSON type a valid, non-object document starts with.
func kindOf(t []byte) string {
	switch {
	case len(t) == 0:
		return "nothing"
	case t[0] == '[':
		return "an array"
	case t[0] == '"':
		return "a string"
	case t[0] == 't' || t[0] == 'f':
		return "a boolean"
	case t[0] == 'n':
		return "null"
	default:
		return "a number"
	}
}

// ParseObject decodes the content of the outputs file called name. It must be a JSON object;
// empty or blank content means {}. Numbers are decoded as json.Number, so that large integers
// and exact decimals survive unchanged. Errors wrap ErrInvalidObject, name the file and never
// quote its content.
func ParseObject(name string, b []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]any{}, nil
	}
	if err := validateObject(name, b); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		// Not reachable after validateObject; do not wrap err, it may quote content.
		return nil, fmt.Errorf("%s is %w", name, ErrInvalidObject)
	}
	return m, nil
}
