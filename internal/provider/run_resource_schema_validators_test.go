package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestKubernetesNameValidators(t *testing.T) {
	p := path.Root("job").AtName("namespace")
	for _, tc := range []struct {
		name, value string
		ns, sa      bool // valid as a namespace, as a service account
	}{
		{name: "label", value: "team-a", ns: true, sa: true},
		{name: "dotted", value: "team.a", ns: false, sa: true},
		{name: "double dot", value: "a..b", ns: false, sa: false},
		{name: "upper case", value: "Team", ns: false, sa: false},
		{name: "leading dash", value: "-a", ns: false, sa: false},
		{name: "too long for a label", value: strings.Repeat("a", 64), ns: false, sa: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, check := range []struct {
				what  string
				v     kubernetesNameValidator
				valid bool
			}{
				{"namespace name", namespaceValidators()[1].(kubernetesNameValidator), tc.ns},
				{"service account name", serviceAccountValidators()[1].(kubernetesNameValidator), tc.sa},
			} {
				errs, paths := validateString(check.v, p, types.StringValue(tc.value))
				if check.valid {
					if len(errs) != 0 {
						t.Errorf("%s %q: %v, want valid", check.what, tc.value, errs)
					}
					continue
				}
				if len(errs) != 1 || !strings.HasPrefix(errs[0], "Invalid Kubernetes Name|"+`"`+tc.value+`" is not a valid `+check.what+": ") {
					t.Errorf("%s %q: %q", check.what, tc.value, errs)
				}
				if len(paths) != 1 || !paths[0].Equal(p) {
					t.Errorf("error on %v", paths)
				}
			}
		})
	}
	v := namespaceValidators()[1].(kubernetesNameValidator)
	if errs, _ := validateString(v, p, types.StringUnknown()); len(errs) != 0 {
		t.Errorf("unknown: %v", errs)
	}
	if got := v.Description(context.Background()); got != "must be a valid Kubernetes namespace name" {
		t.Errorf("description %q", got)
	}
}

func TestRunSchema_EveryAttributeDescribed(t *testing.T) {
	var walk func(prefix string, attrs map[string]schema.Attribute)
	walk = func(prefix string, attrs map[string]schema.Attribute) {
		for name, a := range attrs {
			if prefix == "timeouts." {
				continue // the timeouts module's own attributes
			}
			if strings.TrimSpace(a.GetMarkdownDescription()) == "" {
				t.Errorf("%s%s has no MarkdownDescription", prefix, name)
			}
			if n, ok := a.(schema.SingleNestedAttribute); ok {
				walk(prefix+name+".", n.Attributes)
			}
		}
	}
	walk("", runSchema(context.Background()).Attributes)
}

func TestTimeoutsAttribute_DescribedAndChecked(t *testing.T) {
	a, ok := timeoutsAttribute(context.Background(), "the defaults").(schema.SingleNestedAttribute)
	if !ok {
		t.Fatal("timeouts is not a nested attribute")
	}
	if a.MarkdownDescription != "the defaults" {
		t.Errorf("description %q", a.MarkdownDescription)
	}
	for _, name := range []string{"create", "update", "delete"} {
		s, ok := a.Attributes[name].(schema.StringAttribute)
		if !ok || len(s.Validators) != 1 {
			t.Fatalf("timeouts.%s: %#v", name, a.Attributes[name])
		}
		p := path.Root("timeouts").AtName(name)
		if errs, _ := validateString(s.Validators[0], p, types.StringValue("1h30m")); len(errs) != 0 {
			t.Errorf("timeouts.%s = 1h30m: %v", name, errs)
		}
		errs, paths := validateString(s.Validators[0], p, types.StringValue("30 minutes"))
		if len(errs) != 1 || !strings.Contains(errs[0], "timeouts."+name+`: "30 minutes" is not a duration`) || len(paths) != 1 || !paths[0].Equal(p) {
			t.Errorf("timeouts.%s = 30 minutes: %q on %v", name, errs, paths)
		}
	}
}
