package provider

import (
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

// root starts a containerdriver.Path: the domain names a run's attributes by the schema's
// own names, so a FieldError becomes an attribute diagnostic without parsing.
var root = containerdriver.Root

// attrPath is the framework's path of a domain path.
func attrPath(p containerdriver.Path) path.Path {
	var out path.Path
	for i, s := range p {
		switch {
		case i == 0:
			out = path.Root(s.Name)
		case s.IsKey:
			out = out.AtMapKey(s.Key)
		default:
			out = out.AtName(s.Name)
		}
	}
	return out
}

// joinPaths lists paths for a message.
func joinPaths(ps []containerdriver.Path) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
