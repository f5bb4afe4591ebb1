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

// noCleartextPassword refuses, at plan time, a plain http:// source.url with a password
// (source.password, source.password_wo, or one in the URL): git-init would send it in
// clear, readable and replayable by anyone on the path.
type noCleartextPassword struct{}

var _ validator.Object = noCleartextPassword{}

func (noCleartextPassword) Description(context.Context) string {
	return "refuses a password over a plain http:// URL"
}

func (v noCleartextPassword) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (noCleartextPassword) ValidateObject(ctx context.Context, req validator.ObjectRequest, resp *validator.ObjectResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	var url, password, passwordWO types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, req.Path.AtName("url"), &url)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, req.Path.AtName("password"), &password)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, req.Path.AtName("password_wo"), &passwordWO)...)
	if resp.Diagnostics.HasError() || url.IsUnknown() || url.IsNull() {
		return
	}
	if problem := cleartextPassword(url.ValueString(), password, passwordWO); problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path.AtName("url"), "Password Over Plain HTTP",
			"source.url is a plain http:// URL and "+problem+": git-init would send it in clear, readable (and reusable) by "+
				"anyone on the network path. Use the repository's https:// URL, or an SSH URL (git@host:org/repo.git) with "+
				"source.ssh_key or source.ssh_key_wo.")
	}
}

// cleartextPassword says which password a plain http:// URL u would carry in clear, or
// "" when none would, or u is not plain HTTP. An unknown password is not counted: the
// check runs again when it is known.
func cleartextPassword(u string, password, passwordWO types.String) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok || !strings.EqualFold(scheme, "http") {
		return ""
	}
	switch {
	case !password.IsNull() && !password.IsUnknown() && password.ValueString() != "":
		return "source.password is set"
	case !passwordWO.IsNull() && !passwordWO.IsUnknown() && passwordWO.ValueString() != "":
		return "source.password_wo is set"
	}
	authority, _, _ := strings.Cut(rest, "/")
	if strings.Contains(authority, "@") {
		return "the URL holds credentials (user information before @)"
	}
	return ""
}
