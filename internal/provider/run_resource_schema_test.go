package provider

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// TestRunSchema_Blocks: each block function's attributes are in the assembled schema, as
// that function builds them, and the blocks together are the whole schema.
func TestRunSchema_Blocks(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		schema schema.Schema
		blocks map[string]map[string]schema.Attribute
	}{
		{runSchema(ctx), map[string]map[string]schema.Attribute{
			"runner": {"runner": runnerBlock()}, "job": {"job": jobBlock()}, "source": {"source": sourceBlock()},
			"credentials_config": {"credentials_config": credentialsConfigBlock()},
			"files":              fileAttributes(), "credentials": credentialsAttributes(), "write-only secrets": writeOnlySecretAttributes(),
			"options": runOptionAttributes(), "results": resultAttributes(), "deployer": deployerAttributes(),
			"secret outputs as JSON": secretOutputsJSONAttributes(), "plan": planAttributes(),
			"id and timeouts": {"id": runSchema(ctx).Attributes["id"], "timeouts": timeoutsAttribute(ctx, "")},
		}},
		{runnerSchema(ctx), map[string]map[string]schema.Attribute{
			"shared": runnerSharedAttributes(), "cluster setup": runnerClusterSetupAttributes(),
			"extra_rules": {"extra_rules": extraRulesAttribute()}, "config": {"config": runnerConfigAttribute()},
			"id and timeouts": {"id": runnerSchema(ctx).Attributes["id"], "timeouts": timeoutsAttribute(ctx, "")},
		}},
	} {
		var fromBlocks []string
		for block, attrs := range tc.blocks {
			for name, a := range attrs {
				fromBlocks = append(fromBlocks, name)
				got, ok := tc.schema.Attributes[name]
				if !ok {
					t.Errorf("%s: %s is not in the schema", block, name)
					continue
				}
				if fmt.Sprintf("%T", got) != fmt.Sprintf("%T", a) || got.GetMarkdownDescription() != a.GetMarkdownDescription() && name != "timeouts" {
					t.Errorf("%s: the schema's %s (%T) is not the block's (%T)", block, name, got, a)
				}
			}
		}
		var all []string
		for name := range tc.schema.Attributes {
			all = append(all, name)
		}
		slices.Sort(all)
		slices.Sort(fromBlocks)
		if !slices.Equal(all, fromBlocks) {
			t.Errorf("schema attributes %v, blocks give %v", all, fromBlocks)
		}
	}
}

func TestAddAttributes_RefusesADuplicate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for an attribute defined twice")
		}
	}()
	addAttributes(map[string]schema.Attribute{"job": jobBlock()}, map[string]schema.Attribute{"job": schema.StringAttribute{}})
}
