package provider

import (
	"testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
)

// A domain path becomes the framework's attribute path step by step, in the schema's names.
func TestFieldPath_AttrPath(t *testing.T) {
	for _, c := range []struct {
		got  containerdriver.Path
		want path.Path
	}{
		{root("job").Attr("image"), path.Root("job").AtName("image")},
		{root("files").Key("/etc/x.conf"), path.Root("files").AtMapKey("/etc/x.conf")},
		{root("job").Attr("secret_variables").Key("TOKEN"), path.Root("job").AtName("secret_variables").AtMapKey("TOKEN")},
		{root("credentials_config").Attr("script_variables").Attr("variables").Key("a.b"),
			path.Root("credentials_config").AtName("script_variables").AtName("variables").AtMapKey("a.b")},
	} {
		if p := attrPath(c.got); !p.Equal(c.want) {
			t.Errorf("attrPath(%s) = %s, want %s", c.got, p, c.want)
		}
	}
}

// Every domain validation error reaches Terraform on the attribute it names.
func TestFieldPath_SpecErrorsOnTheirAttribute(t *testing.T) {
	spec := &containerdriver.RunSpec{RunID: "r", Job: containerdriver.JobSpec{
		Image: "busybox", SharedDirectory: "/shared", ServiceAccount: "sa",
		Variables:       map[string]string{"ACTION": "x"},
		SecretVariables: map[string]string{"OK_NAME": "ab"},
	}, Files: map[string]string{"../x": ""}}
	var diags diag.Diagnostics
	if !addSpecErrors(&diags, spec.Validate(), nil) {
		t.Fatal("the validation errors were not recognised")
	}
	want := map[string]bool{}
	for _, p := range []path.Path{
		path.Root("job").AtName("variables").AtMapKey("ACTION"),
		path.Root("job").AtName("secret_variables").AtMapKey("OK_NAME"),
		path.Root("files").AtMapKey("../x"),
	} {
		want[p.String()] = false
	}
	for _, d := range diags {
		wp, ok := d.(diag.DiagnosticWithPath)
		if !ok {
			t.Errorf("diagnostic without a path: %s: %s", d.Summary(), d.Detail())
			continue
		}
		if _, ok := want[wp.Path().String()]; !ok {
			t.Errorf("unexpected diagnostic on %s: %s", wp.Path(), d.Detail())
		}
		want[wp.Path().String()] = true
	}
	for p, seen := range want {
		if !seen {
			t.Errorf("no diagnostic on %s in %v", p, diags)
		}
	}
}
