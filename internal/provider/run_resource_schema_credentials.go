package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/dynamicvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// credentialsConfigBlock is credentials_config: how the credentials reach the runner.
func credentialsConfigBlock() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		MarkdownDescription: "How `credentials` are made available to the runner.",
		Optional:            true,
		Validators: []validator.Object{objectvalidator.Any(
			objectvalidator.AlsoRequires(path.MatchRoot("credentials")),
			objectvalidator.AlsoRequires(path.MatchRoot("credentials_json")),
			objectvalidator.AlsoRequires(path.MatchRoot("credentials_json_wo")),
		)},
		Attributes: map[string]schema.Attribute{
			"environment": schema.MapAttribute{
				MarkdownDescription: "Environment variables of the runner, name to credential key: a key path with `.` as delimiter " +
					"(`aws.accessKeyId`), `*` for the whole credentials as JSON, or the value of `file` for that file's path. " +
					"An object is set as its JSON text.",
				Optional:    true,
				ElementType: types.StringType,
			},
			"file": schema.StringAttribute{
				MarkdownDescription: "A relative path, in the shared directory, of a file holding the whole credentials as JSON, e.g. `credentials.json`.",
				Optional:            true,
			},
			"script_variables": schema.SingleNestedAttribute{
				MarkdownDescription: "A JSON file of variables drawn from the credentials, e.g. a `*.tfvars.json` file.",
				Optional:            true,
				Attributes: map[string]schema.Attribute{
					"file": schema.StringAttribute{
						MarkdownDescription: "The file: a relative path lands in the shared directory, an absolute path is mounted there.",
						Required:            true,
					},
					"variables": schema.MapAttribute{
						MarkdownDescription: "Variable to credential key (as in `environment`). A variable name with dots makes nested objects: " +
							"`SECRET.ID` is the field `ID` of the object variable `SECRET`. An object value stays an object.",
						Optional:    true,
						ElementType: types.StringType,
					},
				},
			},
		},
	}
}

// credentialsAttributes are the credentials credentials_config draws from, in their three forms.
func credentialsAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"credentials": schema.DynamicAttribute{
			MarkdownDescription: "The credentials object that `credentials_config` draws from: an object " +
				"(`{ aws = { accessKeyId = ..., secretAccessKey = ... } }`) or a JSON string of one (`jsonencode(...)`, `file(\"creds.json\")`). " +
				"It reaches the pod only through Secrets. Terraform and OpenTofu themselves print the values of dynamic attributes " +
				"in their `TF_LOG=debug` logs, sensitive or not: prefer `credentials_json`, which they do not. Deprecated for that reason: " +
				"setting it warns at plan time.",
			Optional:           true,
			DeprecationMessage: credentialsDeprecation,
			Sensitive:          true,
			Validators:         []validator.Dynamic{dynamicvalidator.ConflictsWith(path.MatchRoot("credentials_json"), path.MatchRoot("credentials_json_wo"))},
		},
		"credentials_json": schema.StringAttribute{
			MarkdownDescription: "The same credentials object as `credentials`, as a JSON string (`jsonencode({ aws = { ... } })`), " +
				"for `credentials_config` to draw from. Unlike `credentials`, its value does not appear in Terraform's or OpenTofu's own " +
				"`TF_LOG=debug` logs. Set one of `credentials`, `credentials_json` and `credentials_json_wo`.",
			Optional:   true,
			Sensitive:  true,
			CustomType: credentialsJSONType{}, // jsontypes.Normalized that never prints the value

			Validators: []validator.String{stringvalidator.ConflictsWith(path.MatchRoot("credentials_json_wo"))},
		},
		// Write-only: never in the plan or the state, so jsontypes.Normalized's semantic
		// equality has nothing to compare; writeOnlyToSpec checks it is a JSON object.
		"credentials_json_wo": schema.StringAttribute{
			MarkdownDescription: "Like `credentials_json`, but write-only: never stored in the plan or the state, kept for destroy as " +
				"`secret_variables_wo` is. Requires `secrets_wo_version`.",
			Optional:   true,
			Sensitive:  true,
			WriteOnly:  true,
			Validators: []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("secrets_wo_version"))},
		},
	}
}
