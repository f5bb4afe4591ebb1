package containerdriver

import (
	"fmt"
	"strings"
)

// Path names an attribute of a run by the provider schema's own names, for example
// Root("job").Attr("variables").Key("X") for job.variables["X"], so the provider turns a
// FieldError into an attribute path without parsing a string.
type Path []PathStep

// PathStep is one step of a Path: an attribute, or a key of a map attribute.
type PathStep struct {
	Name  string // the attribute's name, when IsKey is false
	Key   string // the map key, when IsKey is true
	IsKey bool
}

// Root is the path of a top-level attribute.
func Root(name string) Path { return Path{{Name: name}} }

// Attr is the path of the nested attribute name of p.
func (p Path) Attr(name string) Path { return append(p[:len(p):len(p)], PathStep{Name: name}) }

// Key is the path of the map key k of p.
func (p Path) Key(k string) Path { return append(p[:len(p):len(p)], PathStep{Key: k, IsKey: true}) }

// String is the path as written in HCL: job.variables["X"].
func (p Path) String() string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case s.IsKey:
			fmt.Fprintf(&b, "[%q]", s.Key)
		case i > 0:
			b.WriteString("." + s.Name)
		default:
			b.WriteString(s.Name)
		}
	}
	return b.String()
}

// HasPrefix reports whether p is q or lies below it.
func (p Path) HasPrefix(q Path) bool {
	if len(q) > len(p) {
		return false
	}
	for i := range q {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// FieldError is a validation error about one input, named by its Path.
type FieldError struct {
	Path   Path
	Detail string
}

func (e *FieldError) Error() string { return e.Path.String() + ": " + e.Detail }

// fieldError is a FieldError with a formatted detail.
func fieldError(p Path, format string, a ...any) *FieldError {
	return &FieldError{Path: p, Detail: fmt.Sprintf(format, a...)}
}

// ValidationErrors collects every problem of a spec at once.
type ValidationErrors []*FieldError

func (v ValidationErrors) Error() string {
	s := make([]string, len(v))
	for i, e := range v {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

// add appends a FieldError with a formatted detail.
func (v *ValidationErrors) add(p Path, format string, a ...any) {
	*v = append(*v, fieldError(p, format, a...))
}
