package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// sshHostKeyWarning warns at plan time when source is an SSH URL without known_hosts:
// git-init then accepts whatever host key the server shows.
type sshHostKeyWarning struct{}

var _ validator.Object = sshHostKeyWarning{}

func (sshHostKeyWarning) Description(context.Context) string {
	return "warns when an SSH source has no known_hosts"
}

func (v sshHostKeyWarning) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (sshHostKeyWarning) ValidateObject(ctx context.Context, req validator.ObjectRequest, resp *validator.ObjectResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	var url, knownHosts types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, req.Path.AtName("url"), &url)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, req.Path.AtName("known_hosts"), &knownHosts)...)
	if resp.Diagnostics.HasError() || url.IsUnknown() || url.IsNull() || knownHosts.IsUnknown() {
		return
	}
	u := url.ValueString()
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") || strings.TrimSpace(knownHosts.ValueString()) != "" {
		return
	}
	resp.Diagnostics.AddAttributeWarning(path.Root("source").AtName("known_hosts"), "SSH Host Key Not Verified",
		"source.url is an SSH URL and source.known_hosts is not set, so git-init accepts any host key: whoever can "+
			"intercept the connection can serve other code to the runner. Set source.known_hosts to the server's keys "+
			"(for example the output of `ssh-keyscan <host>`).")
}
