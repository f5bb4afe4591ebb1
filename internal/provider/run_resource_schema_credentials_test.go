package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func TestCredentialsBlocks_Flags(t *testing.T) {
	checkFlags(t, "credentials", credentialsAttributes(), map[string]flags{
		"credentials":         {set: "optional", sensitive: true, validators: 1},
		"credentials_json":    {set: "optional", sensitive: true, validators: 1},
		"credentials_json_wo": {set: "optional", sensitive: true, writeOnly: true, validators: 1},
	})
	if credentialsAttributes()["credentials"].GetDeprecationMessage() == "" {
		t.Error("credentials is not deprecated")
	}
	if _, ok := credentialsAttributes()["credentials_json"].GetType().(credentialsJSONType); !ok {
		t.Errorf("credentials_json has type %T, want credentialsJSONType (never prints the value)", credentialsAttributes()["credentials_json"].GetType())
	}
	b := credentialsConfigBlock()
	if b.IsRequired() || len(b.Validators) != 1 {
		t.Errorf("credentials_config: required %v, %d validators", b.IsRequired(), len(b.Validators))
	}
	checkFlags(t, "credentials_config", b.Attributes, map[string]flags{
		"environment":      {set: "optional"},
		"file":             {set: "optional"},
		"script_variables": {set: "optional"},
	})
	checkFlags(t, "credentials_config.script_variables", nested(t, b.Attributes["script_variables"]), map[string]flags{
		"file":      {set: "required"},
		"variables": {set: "optional"},
	})
}

func TestCredentialsBlocks_Validators(t *testing.T) {
	creds := `{"aws":{"key":"AKIAEXAMPLE"}}`
	config := map[string]any{"environment": map[string]string{"KEY": "aws.key"}}
	for _, tt := range []struct {
		name   string
		config map[string]any
		path   string
		words  []string
	}{
		{name: "credentials_config without credentials", config: map[string]any{"credentials_config": config}, path: "credentials_config",
			words: []string{"credentials"}},
		{name: "credentials_json and credentials_json_wo", config: map[string]any{"credentials_config": config, "credentials_json": creds,
			"credentials_json_wo": creds, "secrets_wo_version": "1"}, path: "credentials_json", words: []string{"credentials_json_wo"}},
		{name: "credentials and credentials_json", config: map[string]any{"credentials_config": config, "credentials_json": creds,
			"credentials": tftypes.NewValue(tftypes.String, creds)}, path: "credentials", words: []string{"credentials_json"}},
		{name: "credentials_json_wo without a version", config: map[string]any{"credentials_config": config, "credentials_json_wo": creds},
			path: "credentials_json_wo", words: []string{"secrets_wo_version"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.config["job"] = testJob
			errs := planErrors(t, tt.config)
			if !hasError(errs, tt.path, tt.words...) {
				t.Errorf("no error on %s naming %q; got:\n%s", tt.path, tt.words, strings.Join(errs, "\n"))
			}
			for _, e := range errs {
				if strings.Contains(e, "AKIAEXAMPLE") {
					t.Errorf("an error shows the credentials: %s", e)
				}
			}
		})
	}
	// credentials_config draws from any one of the three forms. (validate sends no client
	// capabilities, so the framework refuses a write-only value by itself: only the errors
	// on credentials_config count here.)
	for name, form := range map[string]map[string]any{
		"credentials":         {"credentials": tftypes.NewValue(tftypes.String, creds)},
		"credentials_json":    {"credentials_json": creds},
		"credentials_json_wo": {"credentials_json_wo": creds, "secrets_wo_version": "1"},
	} {
		form["job"], form["credentials_config"] = testJob, config
		if errs := planErrors(t, form); hasError(errs, "credentials_config") || name != "credentials_json_wo" && len(errs) != 0 {
			t.Errorf("%s with credentials_config: %q", name, errs)
		}
	}
}
