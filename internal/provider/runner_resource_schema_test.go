package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// The run's runner attribute and the runner resource's config are one type, so that
// runner = containerdriver_runner.main.config type-checks.
func TestRunnerAttribute_SameTypeAsRunnerConfig(t *testing.T) {
	ctx := context.Background()
	runAttr := runSchema(ctx).Attributes["runner"].(schema.SingleNestedAttribute)
	config := runnerSchema(ctx).Attributes["config"]
	if !runAttr.GetType().Equal(config.GetType()) {
		t.Errorf("run.runner %s and runner.config %s differ", runAttr.GetType(), config.GetType())
	}
	if !config.GetType().Equal(types.ObjectType{AttrTypes: runnerConfigAttrTypes}) {
		t.Errorf("runner.config %s is not runnerConfigAttrTypes", config.GetType())
	}
	for name := range runnerConfigAttrTypes {
		if runnerConfigDescriptions[name] == "" {
			t.Errorf("runner config attribute %s has no description", name)
		}
	}
}
