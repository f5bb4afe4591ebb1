package containerdriver

import "testing"

func TestPath_StringAndPrefix(t *testing.T) {
	p := Root("credentials_config").Attr("script_variables").Attr("variables").Key(`a."b"`)
	if got, want := p.String(), `credentials_config.script_variables.variables["a.\"b\""]`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	base := Root("credentials_config").Attr("script_variables")
	if !p.HasPrefix(base) || !base.HasPrefix(base) || base.HasPrefix(p) {
		t.Errorf("HasPrefix: %s under %s wrong", p, base)
	}
	if p.HasPrefix(Root("credentials_config").Attr("environment")) {
		t.Error("a sibling attribute is not a prefix")
	}
	// Attr and Key never write into a shared backing array.
	a, b := base.Attr("file"), base.Attr("variables")
	if a.String() != "credentials_config.script_variables.file" || b.String() != "credentials_config.script_variables.variables" {
		t.Errorf("paths built from one base interfere: %s, %s", a, b)
	}
}
