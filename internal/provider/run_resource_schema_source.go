package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// sourceBlock is source: the git repository git-init checks out before the runner starts.
func sourceBlock() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		MarkdownDescription: "A git repository checked out into `job.shared_directory` by the `git-init` init container before the runner starts.",
		Optional:            true,
		Validators:          []validator.Object{sshHostKeyWarning{}, noCleartextPassword{}},
		Attributes: map[string]schema.Attribute{
			"url": schema.StringAttribute{
				MarkdownDescription: "The repository: `https://host/org/repo.git`, or over SSH `git@host:org/repo.git` or `ssh://git@host/org/repo.git`. " +
					"It must not hold credentials (`https://user:token@...`, `https://token@...`, `ssh://user:password@...`): the URL is shown in the Job spec " +
					"and in errors, so plan fails; use `username` and `password` (or `ssh_key`). A plain `http://` URL is accepted only without a password " +
					"(`password` or `password_wo`): plan fails otherwise, as the password would cross the network in clear.",
				Required:   true,
				Validators: []validator.String{validGitURL()},
			},
			"ref": schema.StringAttribute{
				MarkdownDescription: "A full branch or tag name (`refs/heads/main`, `refs/tags/v1`) or a commit SHA. The repository's HEAD when not set. " +
					"Destroy checks out the commit that the last run used, whatever the ref points to then.",
				Optional: true,
			},
			"path": schema.StringAttribute{
				MarkdownDescription: "A directory of the repository: only its content is copied into the shared directory.",
				Optional:            true,
			},
			"username": schema.StringAttribute{
				MarkdownDescription: "The user name to authenticate with. `git` when not set.",
				Optional:            true,
			},
			"password": schema.StringAttribute{
				MarkdownDescription: "A password or personal access token, for an HTTPS URL (plan fails for an `http://` URL, which would send it in clear).",
				Optional:            true,
				Sensitive:           true,
				Validators: []validator.String{stringvalidator.ConflictsWith(
					path.MatchRelative().AtParent().AtName("ssh_key"), path.MatchRelative().AtParent().AtName("ssh_key_wo"),
					path.MatchRelative().AtParent().AtName("password_wo"))},
			},
			"password_wo": schema.StringAttribute{
				MarkdownDescription: "Like `password`, but write-only: never stored in the plan or the state, kept for destroy as " +
					"`secret_variables_wo` is. Requires `secrets_wo_version`.",
				Optional:  true,
				Sensitive: true,
				WriteOnly: true,
				Validators: []validator.String{
					stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("ssh_key"), path.MatchRelative().AtParent().AtName("ssh_key_wo")),
					stringvalidator.AlsoRequires(path.MatchRoot("secrets_wo_version")),
				},
			},
			"ssh_key": schema.StringAttribute{
				MarkdownDescription: "A private SSH key (PEM or OpenSSH format), for an SSH URL.",
				Optional:            true,
				Sensitive:           true,
				Validators:          []validator.String{stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("ssh_key_wo"))},
			},
			"ssh_key_wo": schema.StringAttribute{
				MarkdownDescription: "Like `ssh_key`, but write-only: never stored in the plan or the state, kept for destroy as " +
					"`secret_variables_wo` is. Requires `secrets_wo_version`.",
				Optional:   true,
				Sensitive:  true,
				WriteOnly:  true,
				Validators: []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("secrets_wo_version"))},
			},
			"known_hosts": schema.StringAttribute{
				MarkdownDescription: "The server's SSH host keys in `known_hosts` format (e.g. the output of `ssh-keyscan <host>`). " +
					"When not set, the host key is not verified, and plan warns about it for an SSH URL.",
				Optional: true,
			},
		},
	}
}
