package provider

import (
	"context"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

func TestKubeSettings_RateLimit(t *testing.T) {
	ctx := context.Background()
	m := providerModel{Host: types.StringValue("https://api.example"), QPS: types.Float64Value(200), Burst: types.Int64Value(400),
		ConfigPaths: types.ListNull(types.StringType), Exec: types.ObjectNull(execAttrTypes)}
	s, unknown, diags := m.settings(ctx, func(string) string { return "" })
	if diags.HasError() || len(unknown) > 0 {
		t.Fatalf("diags %v, unknown %v", diags, unknown)
	}
	cfg, err := s.restConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.QPS != 200 || cfg.Burst != 400 {
		t.Errorf("qps = 200, burst = 400 gave QPS %v, Burst %d", cfg.QPS, cfg.Burst)
	}

	// Unset: the provider's defaults, not client-go's 5 and 10.
	cfg, err = kubeSettings{Host: "https://api.example"}.restConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.QPS != defaultQPS || cfg.Burst != defaultBurst {
		t.Errorf("defaults: QPS %v, Burst %d; want %d, %d", cfg.QPS, cfg.Burst, defaultQPS, defaultBurst)
	}

	m.QPS, m.Burst = types.Float64Unknown(), types.Int64Unknown()
	if _, unknown, _ := m.settings(ctx, func(string) string { return "" }); len(unknown) != 2 {
		t.Errorf("unknown qps and burst: %v", unknown)
	}
}

// A limit that would stop every request is refused at plan time, by attribute.
func TestProvider_RateLimitValidation(t *testing.T) {
	needTerraform(t)
	var steps []resource.TestStep
	for _, s := range []struct{ config, want string }{
		{`provider "containerdriver" { qps = 0 }`, `(?s)qps.*at least 1`},
		{`provider "containerdriver" { burst = 0 }`, `(?s)burst.*at least 1`},
	} {
		steps = append(steps, resource.TestStep{
			Config: s.config + `
resource "containerdriver_runner" "test" {
  namespace       = "runners"
  service_account = "runner"
}`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(s.want),
		})
	}
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: steps})
}
