package containerdriver

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*RunSpec)
		field string
	}{
		{"bad image", func(s *RunSpec) { s.Job.Image = "Not An Image" }, "job.image"},
		{"relative shared dir", func(s *RunSpec) { s.Job.SharedDirectory = "work" }, "job.shared_directory"},
		{"root shared dir", func(s *RunSpec) { s.Job.SharedDirectory = "/" }, "job.shared_directory"},
		{"bad namespace", func(s *RunSpec) { s.Job.Namespace = "Bad_NS" }, "job.namespace"},
		// The API server refuses empty labels in a DNS-1123 subdomain; the hand-written
		// regular expression accepted them.
		{"service account with an empty label", func(s *RunSpec) { s.Job.ServiceAccount = "a..b" }, "job.service_account"},
		{"reserved variable", func(s *RunSpec) { s.Job.Variables = map[string]string{"ACTION": "x"} }, `job.variables["ACTION"]`},
		{"bad variable name", func(s *RunSpec) { s.Job.Variables = map[string]string{"1X": "x"} }, `job.variables["1X"]`},
		{"dotdot file", func(s *RunSpec) { s.Files = map[string]string{"../x": "x"} }, `files["../x"]`},
		{"contract file", func(s *RunSpec) { s.Files = map[string]string{"outputs.json": "x"} }, `files["outputs.json"]`},
		{"same file twice", func(s *RunSpec) {
			s.Files = map[string]string{"a": "x"}
			s.SecretFiles = map[string]string{"/workspace/a": "y"}
		}, `secret_files["/workspace/a"]`},
		{"bad git url", func(s *RunSpec) { s.Source = &SourceSpec{URL: "ftp://x"} }, "source.url"},
		{"ssh key with https", func(s *RunSpec) { s.Source = &SourceSpec{URL: "https://h/r.git", SSHKey: "k"} }, "source.ssh_key"},
		{"absolute credentials file", func(s *RunSpec) { s.CredentialsConfig = &CredentialsConfig{File: "/etc/c.json"} }, "credentials_config.file"},
		{"credentials file is a contract file", func(s *RunSpec) { s.CredentialsConfig = &CredentialsConfig{File: "outputs.json"} }, "credentials_config.file"},
		{"credentials file is also a file", func(s *RunSpec) {
			s.Files = map[string]string{"creds.json": "x"}
			s.CredentialsConfig = &CredentialsConfig{File: "creds.json"}
		}, "credentials_config.file"},
		{"script variables file in the driver's mounts", func(s *RunSpec) {
			s.CredentialsConfig = &CredentialsConfig{ScriptVariables: &ScriptVariables{File: "/var/run/containerdriver/inputs/x.json"}}
		}, "credentials_config.script_variables.file"},
		{"script variables file on the token", func(s *RunSpec) {
			s.CredentialsConfig = &CredentialsConfig{ScriptVariables: &ScriptVariables{File: "/var/run/secrets/kubernetes.io/serviceaccount/token"}}
		}, "credentials_config.script_variables.file"},
		{"file on the token mount", func(s *RunSpec) { s.Files = map[string]string{"/var/run/secrets/kubernetes.io/serviceaccount/x": "x"} }, `files["/var/run/secrets/kubernetes.io/serviceaccount/x"]`},
		{"state path on the token mount", func(s *RunSpec) { s.State = &StateSpec{Path: "/var/run/secrets"} }, "state_path"},
		{"https url with a token", func(s *RunSpec) { s.Source = &SourceSpec{URL: "https://ghp_TOKEN@github.com/o/r.git"} }, "source.url"},
		{"https url with user and password", func(s *RunSpec) { s.Source = &SourceSpec{URL: "https://u:TOKEN@host/o/r.git"} }, "source.url"},
		{"ssh url with a password", func(s *RunSpec) { s.Source = &SourceSpec{URL: "ssh://git:pw@host/o/r.git"} }, "source.url"},
		{"reserved CONTAINERDRIVER_RUN_ID", func(s *RunSpec) { s.Job.SecretVariables = map[string]string{"CONTAINERDRIVER_RUN_ID": "long-enough"} }, `job.secret_variables["CONTAINERDRIVER_RUN_ID"]`},
		{"reserved STATE_PATH", func(s *RunSpec) { s.Job.SecretVariables = map[string]string{"STATE_PATH": "long-enough"} }, `job.secret_variables["STATE_PATH"]`},
		{"reserved OPERATION", func(s *RunSpec) { s.Job.SecretVariables = map[string]string{"OPERATION": "long-enough"} }, `job.secret_variables["OPERATION"]`},
		{"reserved IMPORTS_PATH", func(s *RunSpec) { s.Job.SecretVariables = map[string]string{"IMPORTS_PATH": "long-enough"} }, `job.secret_variables["IMPORTS_PATH"]`},
		// The marker state-restore leaves for outputs-fetcher: a file there would let a failed
		// restore's empty directory be saved over the kept state.
		{"state-restored marker as a file", func(s *RunSpec) { s.Files = map[string]string{".containerdriver-state-restored": ""} }, `files[".containerdriver-state-restored"]`},
		{"state-restored marker as a secret file", func(s *RunSpec) {
			s.SecretFiles = map[string]string{"/workspace/.containerdriver-state-restored": "long-enough"}
		}, `secret_files["/workspace/.containerdriver-state-restored"]`},
		// A contract file named by its absolute path is the same file.
		{"outputs file by its absolute path", func(s *RunSpec) { s.Files = map[string]string{"/workspace/outputs.json": "{}"} }, `files["/workspace/outputs.json"]`},
		// The deployer runner writes its exports there; a mounted file would hide them.
		{"deployer exports as a file", func(s *RunSpec) { s.Contract = ContractContainerDeployer; s.Files = map[string]string{"exports": "x"} }, `files["exports"]`},
		{"reserved EXPORTS_PATH", func(s *RunSpec) { s.Job.SecretVariables = map[string]string{"EXPORTS_PATH": "long-enough"} }, `job.secret_variables["EXPORTS_PATH"]`},
		{"reserved TARGET_PATH", func(s *RunSpec) { s.Job.SecretVariables = map[string]string{"TARGET_PATH": "long-enough"} }, `job.secret_variables["TARGET_PATH"]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := minimalSpec()
			c.edit(s)
			err := s.Validate()
			var verrs ValidationErrors
			if !errors.As(err, &verrs) {
				t.Fatalf("got %v, want ValidationErrors", err)
			}
			for _, e := range verrs {
				if e.Path.String() == c.field {
					return
				}
			}
			t.Errorf("no error on %s in %v", c.field, err)
		})
	}
	if err := minimalSpec().Validate(); err != nil {
		t.Errorf("minimal spec: %v", err)
	}
	for _, u := range []string{"ssh://git@host/o/r.git", "git@github.com:o/r.git", "https://host/o/r.git", "https://host/o/r@v1.git"} {
		s := minimalSpec()
		s.Source = &SourceSpec{URL: u}
		if err := s.Validate(); err != nil {
			t.Errorf("source.url %q: %v", u, err)
		}
	}
}

func TestValidate_ShortSecretsRefused(t *testing.T) {
	s := minimalSpec()
	s.Job.SecretVariables = map[string]string{"A": "abc", "OK": "abcd", "EMPTY": ""}
	s.SecretFiles = map[string]string{"f": "{}"}
	s.Source = &SourceSpec{URL: "https://h/r.git", Password: "pw"}
	err := s.Validate()
	for _, want := range []string{`job.secret_variables["A"]: is shorter than 4 characters`, `secret_files["f"]: is shorter`, "source.password: is shorter"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
	for _, not := range []string{`["OK"]`, `["EMPTY"]`, "abc"} {
		if err != nil && strings.Contains(err.Error(), not) {
			t.Errorf("Validate() = %v, must not mention %q", err, not)
		}
	}
}

// Image references are read with the runtimes' grammar (distribution/reference): a digest
// must have its algorithm's length, which the hand-written pattern did not check.
func TestValidateImage(t *testing.T) {
	hex64 := strings.Repeat("a", 64)
	for ref, ok := range map[string]bool{
		"busybox":                                true,
		"registry.example.com:5000/org/runner:1": true,
		"ghcr.io/containerdriver/containerdriver-sidecars:1.2.0@sha256:" + hex64: true,
		"localhost:5000/cd-byo/sidecars:test-0123abcd":                           true,
		"ghcr.io/org/runner@sha256:" + strings.Repeat("a", 40):                   false,
		"Not An Image":            false,
		"ghcr.io/Org/runner:1":    false,
		"ghcr.io/org/runner:-bad": false,
		"":                        false,
	} {
		err := ValidateImage(ref)
		if (err == nil) != ok {
			t.Errorf("ValidateImage(%q) = %v, want ok=%v", ref, err, ok)
		}
	}
}

// TestValidate_PlanFiles: in a run with plan support, a file at PLAN_FILE, PLAN_SUMMARY_FILE
// or in PLAN_ARTIFACT_DIR would be mounted read-only where the runner writes its plan (or
// taken for the plan when the runner wrote none): refused, naming the file and the fix. A
// run without plan support keeps using those names as before.
func TestValidate_PlanFiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secret bool
		path   string
		want   string
	}{
		{"plan file", false, "plan.txt", "/workspace/plan.txt is where a runner with plan support writes its plan (PLAN_FILE); this run has a plan block, so name the file differently"},
		{"summary by its absolute path", true, "/workspace/plan-summary.json", "writes its plan summary (PLAN_SUMMARY_FILE)"},
		{"artifact directory", false, ".containerdriver-plan", "leaves its plan artifact (PLAN_ARTIFACT_DIR, /workspace/.containerdriver-plan)"},
		{"file in the artifact directory", true, ".containerdriver-plan/tfplan", "leaves its plan artifact"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			field := `files["` + tc.path + `"]`
			if tc.secret {
				field = "secret_" + field
			}
			edit := func(s *RunSpec) {
				if tc.secret {
					s.SecretFiles = map[string]string{tc.path: "long-enough"}
				} else {
					s.Files = map[string]string{tc.path: "x"}
				}
			}
			s := minimalSpec()
			edit(s)
			if err := s.Validate(); err != nil {
				t.Errorf("without plan support: %v", err)
			}
			for _, with := range []func(*RunSpec){
				func(s *RunSpec) { s.PlanSupport = true },
				func(s *RunSpec) { s.Plan = &PlanSpec{} },
			} {
				s := minimalSpec()
				edit(s)
				with(s)
				err := s.Validate()
				var verrs ValidationErrors
				if !errors.As(err, &verrs) || len(verrs) != 1 || verrs[0].Path.String() != field || !strings.Contains(verrs[0].Detail, tc.want) {
					t.Errorf("got %v, want one error on %s saying %q", err, field, tc.want)
				}
			}
		})
	}
	s := minimalSpec()
	s.PlanSupport = true
	s.Files = map[string]string{"plans/plan.txt": "x", "/etc/plan.txt": "x", ".containerdriver-planned": "x"}
	if err := s.Validate(); err != nil {
		t.Errorf("files elsewhere: %v", err)
	}
}
