package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// The provider's client-side request rate limit. The kubernetes provider has no such
// settings (nor environment variables for them); the names are client-go's.

func qpsAttribute() schema.Float64Attribute {
	return schema.Float64Attribute{
		MarkdownDescription: fmt.Sprintf("The average number of requests per second the provider's Kubernetes client sends, "+
			"all runs of the provider together: client-go holds back requests beyond it (client-side throttling). Defaults to `%d`; "+
			"client-go's own default, 5, would make the runs of a large apply wait for each other. "+
			"The API server's priority and fairness still applies. See also `burst`.", defaultQPS),
		Optional:   true,
		Validators: []validator.Float64{float64validator.AtLeast(1)},
	}
}

func burstAttribute() schema.Int64Attribute {
	return schema.Int64Attribute{
		MarkdownDescription: fmt.Sprintf("The number of requests the provider's Kubernetes client may send at once above `qps` "+
			"before it throttles. The runs of one apply start together and send about 10 requests each before they wait by watches; "+
			"the default, `%d`, lets 50 runs start without being held back.", defaultBurst),
		Optional:   true,
		Validators: []validator.Int64{int64validator.AtLeast(1)},
	}
}
