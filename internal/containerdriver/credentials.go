package containerdriver

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// wholeCredentials is the credentials_config value that means "the whole credentials object".
const wholeCredentials = "*"

func (c *CredentialsConfig) validate(job JobSpec) ValidationErrors {
	var errs ValidationErrors
	add := errs.add
	if f := c.File; f != "" {
		if path.IsAbs(f) || hasDotDot(f) || path.Clean(f) != f {
			add(Root("credentials_config").Attr("file"), "%q must be a clean relative path without '..' (it lands in the scripts directory)", f)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Environment)) {
		if !envNameRe.MatchString(k) {
			add(Root("credentials_config").Attr("environment").Key(k), "not a valid environment variable name")
		} else if reservedEnv[k] {
			add(Root("credentials_config").Attr("environment").Key(k), "is set by the driver and cannot be overridden")
		} else if _, dup := job.Variables[k]; dup {
			add(Root("credentials_config").Attr("environment").Key(k), "is also set in job.variables")
		} else if _, dup := job.SecretVariables[k]; dup {
			add(Root("credentials_config").Attr("environment").Key(k), "is also set in the secret job variables")
		}
		if c.Environment[k] == "" {
			add(Root("credentials_config").Attr("environment").Key(k), "must name a credential key (a.b.c), the credentials file, or \"*\"")
		}
	}
	if sv := c.ScriptVariables; sv != nil {
		if sv.File == "" {
			add(Root("credentials_config").Attr("script_variables").Attr("file"), "must not be empty")
		} else if hasDotDot(sv.File) || path.Clean(sv.File) != sv.File {
			add(Root("credentials_config").Attr("script_variables").Attr("file"), "%q must be a clean path without '..'", sv.File)
		} else if c.File != "" && sv.File == c.File {
			add(Root("credentials_config").Attr("script_variables").Attr("file"), "is the same file as credentials_config.file")
		}
		for _, k := range slices.Sorted(maps.Keys(sv.Variables)) {
			if k == "" || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") || strings.Contains(k, "..") {
				add(Root("credentials_config").Attr("script_variables").Attr("variables").Key(k), "is not a valid variable name")
			}
			if sv.Variables[k] == "" {
				add(Root("credentials_config").Attr("script_variables").Attr("variables").Key(k), "must name a credential key (a.b.c), the credentials file, or \"*\"")
			}
		}
	}
	return errs
}

// ResolvedCredentials is what credentials_config makes of the credentials: environment
// variables and files, all of them sensitive.
type ResolvedCredentials struct {
	Env   map[string]string
	Files map[string]string // path as given (relative: scripts directory) -> content
}

// ResolveCredentials applies the contract's flattening rules (docs/guides/contract.md): keys are paths with
// "." as delimiter, "*" is the whole object, objects are stringified for environment
// variables and kept as objects in script variables, and a value equal to
// credentials_config.file stands for that file's path.
func (c *CredentialsConfig) ResolveCredentials(creds map[string]any, shared string) (*ResolvedCredentials, error) {
	out := &ResolvedCredentials{Env: map[string]string{}, Files: map[string]string{}}
	if c == nil {
		return out, nil
	}
	if creds == nil {
		creds = map[string]any{}
	}
	var credsFilePath string
	if c.File != "" {
		b, err := json.Marshal(creds)
		if err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
		out.Files[c.File] = string(b)
		credsFilePath = ResolveFilePath(c.File, shared)
	}
	lookup := func(field Path, key string) (any, error) {
		if key == wholeCredentials {
			return creds, nil
		}
		if c.File != "" && key == c.File {
			return credsFilePath, nil
		}
		v, ok := flatLookup(creds, key)
		if !ok {
			// The key is named, never the credential's value.
			return nil, fieldError(field, "the credentials have no key %q", key)
		}
		return v, nil
	}
	for _, name := range slices.Sorted(maps.Keys(c.Environment)) {
		v, err := lookup(Root("credentials_config").Attr("environment").Key(name), c.Environment[name])
		if err != nil {
			return nil, err
		}
		s, err := stringify(v)
		if err != nil {
			return nil, err
		}
		out.Env[name] = s
	}
	if sv := c.ScriptVariables; sv != nil {
		vars := map[string]any{}
		for _, name := range slices.Sorted(maps.Keys(sv.Variables)) {
			v, err := lookup(Root("credentials_config").Attr("script_variables").Attr("variables").Key(name), sv.Variables[name])
			if err != nil {
				return nil, err
			}
			if _, isObj := v.(map[string]any); !isObj {
				if v, err = stringify(v); err != nil {
					return nil, err
				}
			}
			if err := setNested(vars, strings.Split(name, "."), v); err != nil {
				return nil, fieldError(Root("credentials_config").Attr("script_variables").Attr("variables").Key(name), "%v", err)
			}
		}
		b, err := json.Marshal(vars)
		if err != nil {
			return nil, fmt.Errorf("script variables: %w", err)
		}
		out.Files[sv.File] = string(b)
	}
	return out, nil
}

// flatLookup finds a.b.c in nested objects. A key that itself contains dots is found too
// (the longest matching key wins), so {"aws.key": 1} is reachable as "aws.key".
func flatLookup(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	parts := strings.Split(key, ".")
	for i := len(parts) - 1; i >= 1; i-- {
		head := strings.Join(parts[:i], ".")
		if sub, ok := m[head].(map[string]any); ok {
			if v, ok := flatLookup(sub, strings.Join(parts[i:], ".")); ok {
				return v, true
			}
		}
	}
	return nil, false
}

func stringify(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case nil:
		return "", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func setNested(m map[string]any, parts []string, v any) error {
	for i, p := range parts[:len(parts)-1] {
		next, ok := m[p]
		if !ok {
			n := map[string]any{}
			m[p] = n
			m = n
			continue
		}
		n, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("%q is both a value and an object", strings.Join(parts[:i+1], "."))
		}
		m = n
	}
	last := parts[len(parts)-1]
	if _, exists := m[last]; exists {
		return fmt.Errorf("%q is set twice", strings.Join(parts, "."))
	}
	m[last] = v
	return nil
}
