// Command terraform-provider-containerdriver is the Terraform/OpenTofu provider that runs a
// container image as a Kubernetes Job and brings its outputs back.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/provider"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "start the provider with support for debuggers such as delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/containerdriver/containerdriver",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}
