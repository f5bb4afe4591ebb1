package containerdriver

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// validateCase edits minimalSpec and names every error Validate must then report, in
// order, as "path: detail": the exact messages the provider and the CLI show. want nil
// means the edited spec is valid.
type validateCase struct {
	name string
	edit func(*RunSpec)
	want []string
}

// runValidateCases runs the whole Validate on each case and, when section is not nil, the
// section alone, which must report the same errors: a section owns its messages.
func runValidateCases(t *testing.T, section func(*RunSpec) ValidationErrors, cases []validateCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := minimalSpec()
			c.edit(s)
			if got := errorLines(t, s.Validate()); !slices.Equal(got, c.want) {
				t.Errorf("Validate():\n got %q\nwant %q", got, c.want)
			}
			if section == nil {
				return
			}
			var got []string
			for _, e := range section(s) {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("section alone:\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

func errorLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var verrs ValidationErrors
	if !errors.As(err, &verrs) {
		t.Fatalf("got %T %v, want ValidationErrors", err, err)
	}
	var out []string
	for _, e := range verrs {
		out = append(out, e.Error())
	}
	return out
}

func TestValidate_Identity(t *testing.T) {
	runValidateCases(t, nil, []validateCase{
		{"id set", func(*RunSpec) {}, nil},
		{"empty id", func(s *RunSpec) { s.RunID = "" }, []string{"id: must not be empty"}},
	})
}

func TestValidate_Images(t *testing.T) {
	runValidateCases(t, (*RunSpec).validateImages, []validateCase{
		{"no sidecar image of the run's own", func(s *RunSpec) { s.SidecarImage = "" }, nil},
		{"empty image", func(s *RunSpec) { s.Job.Image = "" }, []string{"job.image: must not be empty"}},
		{"upper case image", func(s *RunSpec) { s.Job.Image = "ghcr.io/Org/runner:1" }, []string{
			`job.image: "ghcr.io/Org/runner:1" is not a valid image reference (expected [registry/]repository[:tag][@sha256:digest], lower case): invalid reference format: repository name (Org/runner) must be lowercase`}},
		{"bad sidecar image", func(s *RunSpec) { s.SidecarImage = "Bad Image" }, []string{
			`runner.sidecar_image: "Bad Image" is not a valid image reference (expected [registry/]repository[:tag][@sha256:digest], lower case): invalid reference format: repository name (library/Bad Image) must be lowercase`}},
	})
}

func TestValidate_JobPlacement(t *testing.T) {
	runValidateCases(t, (*RunSpec).validateJobPlacement, []validateCase{
		{"no namespace nor service account", func(s *RunSpec) { s.Job.Namespace, s.Job.ServiceAccount = "", "" }, nil},
		{"empty shared directory", func(s *RunSpec) { s.Job.SharedDirectory = "" }, []string{"job.shared_directory: must not be empty"}},
		{"relative shared directory", func(s *RunSpec) { s.Job.SharedDirectory = "work" }, []string{`job.shared_directory: "work" must be an absolute path`}},
		{"unclean shared directory", func(s *RunSpec) { s.Job.SharedDirectory = "/work/" }, []string{`job.shared_directory: "/work/" is not clean; use "/work"`}},
		{"root shared directory", func(s *RunSpec) { s.Job.SharedDirectory = "/" }, []string{"job.shared_directory: must not be the root directory"}},
		{"shared directory on the inputs", func(s *RunSpec) { s.Job.SharedDirectory = "/var/run/containerdriver" }, []string{
			`job.shared_directory: "/var/run/containerdriver" collides with a path the driver mounts`}},
		{"bad namespace", func(s *RunSpec) { s.Job.Namespace = "Bad_NS" }, []string{
			`job.namespace: "Bad_NS" is not a valid namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`}},
		{"service account with an empty label", func(s *RunSpec) { s.Job.ServiceAccount = "a..b" }, []string{
			`job.service_account: "a..b" is not a valid service account name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{"valid pod template", func(s *RunSpec) { s.Job.PodTemplates = []string{"spec:\n  nodeSelector:\n    a: b\n"} }, nil},
		{"pod template with an unknown field", func(s *RunSpec) { s.Job.PodTemplates = []string{"spec:\n  notAField: 1\n"} }, []string{
			`job.pod_template: not a valid pod template (a PodTemplateSpec with metadata and spec): unknown field "spec.notAField" (field names are exact and case-sensitive, as the Kubernetes API reads them, and each is given once)`}},
	})
}

func TestValidate_Variables(t *testing.T) {
	runValidateCases(t, (*RunSpec).validateVariables, []validateCase{
		{"plain and secret variables", func(s *RunSpec) {
			s.Job.Variables = map[string]string{"A": "1", "_B2": "2"}
			s.Job.SecretVariables = map[string]string{"C": "long-enough"}
		}, nil},
		{"bad names, in key order", func(s *RunSpec) { s.Job.Variables = map[string]string{"B-1": "x", "1A": "x"} }, []string{
			`job.variables["1A"]: not a valid environment variable name`, `job.variables["B-1"]: not a valid environment variable name`}},
		{"reserved", func(s *RunSpec) { s.Job.Variables = map[string]string{"SCRIPTS_DIRECTORY": "x"} }, []string{
			`job.variables["SCRIPTS_DIRECTORY"]: is set by the driver and cannot be overridden`}},
		{"in both maps", func(s *RunSpec) {
			s.Job.Variables = map[string]string{"X": "1"}
			s.Job.SecretVariables = map[string]string{"X": "long-enough"}
		}, []string{`job.variables["X"]: is also a secret variable; set it in one place only`}},
		{"bad secret name", func(s *RunSpec) { s.Job.SecretVariables = map[string]string{"A B": "long-enough"} }, []string{
			`job.secret_variables["A B"]: not a valid environment variable name`}},
		{"reserved secret", func(s *RunSpec) { s.Job.SecretVariables = map[string]string{"ERROR_FILE": "long-enough"} }, []string{
			`job.secret_variables["ERROR_FILE"]: is set by the driver and cannot be overridden`}},
	})
}

func TestValidate_SecretLengths(t *testing.T) {
	short := "is shorter than 4 characters: a value that short cannot be masked in logs without masking unrelated text, " +
		"and is guessed in no time; use a longer secret, or a non-sensitive attribute if it is not a secret"
	runValidateCases(t, (*RunSpec).validateSecretLengths, []validateCase{
		{"empty and long enough", func(s *RunSpec) {
			s.Job.SecretVariables = map[string]string{"E": "", "L": "abcd"}
			s.SecretFiles = map[string]string{"f": ""}
		}, nil},
		{"every secret input", func(s *RunSpec) {
			s.Job.SecretVariables = map[string]string{"B": "b", "A": "aa"}
			s.SecretFiles = map[string]string{"f": "abc"}
			s.Source = &SourceSpec{URL: "https://h/r.git", Password: "pw"}
			s.Contract = ContractContainerDeployer
			s.Target = &TargetSpec{Content: "c"}
		}, []string{
			`job.secret_variables["A"]: ` + short, `job.secret_variables["B"]: ` + short, `secret_files["f"]: ` + short,
			"source.password: " + short, "target.content: " + short}},
		{"ssh key", func(s *RunSpec) { s.Source = &SourceSpec{URL: "git@h:r.git", SSHKey: "k"} }, []string{"source.ssh_key: " + short}},
	})
}

func TestValidate_Contract(t *testing.T) {
	runValidateCases(t, func(s *RunSpec) ValidationErrors { return append(s.validateContract(), s.validateDeployerInputs()...) }, []validateCase{
		{"container driver by name", func(s *RunSpec) { s.Contract = ContractContainerDriver }, nil},
		{"deployer with its inputs", func(s *RunSpec) {
			s.Contract = ContractContainerDeployer
			s.Target = &TargetSpec{Target: map[string]any{"a": "b"}}
			s.ComponentDescriptor = `{"components": []}`
			s.Content = map[string]string{"blob/a.txt": "x"}
		}, nil},
		{"unknown contract", func(s *RunSpec) { s.Contract = "landscaper" }, []string{
			`contract: "landscaper" is neither "container-driver" nor "container-deployer"`}},
		{"deployer inputs without the deployer contract", func(s *RunSpec) {
			s.Target = &TargetSpec{}
			s.Content = map[string]string{"a": "x"}
		}, []string{`target: is only given to runners of the "container-deployer" contract`,
			`component_descriptor: is only given to runners of the "container-deployer" contract`}},
		{"component descriptor that is not JSON", func(s *RunSpec) {
			s.Contract = ContractContainerDeployer
			s.ComponentDescriptor = "{"
		}, []string{"component_descriptor: is not valid JSON"}},
		{"content paths", func(s *RunSpec) {
			s.Contract = ContractContainerDeployer
			s.Content = map[string]string{"/abs": "x", "a/../b": "x", "ok/x": "x", "./c": "x"}
		}, []string{`content["./c"]: must be a clean relative path without '..'`, `content["/abs"]: must be a clean relative path without '..'`,
			`content["a/../b"]: must be a clean relative path without '..'`}},
	})
}

func TestValidate_State(t *testing.T) {
	runValidateCases(t, (*RunSpec).validateState, []validateCase{
		{"state beside the shared directory", func(s *RunSpec) { s.State = &StateSpec{Path: "/state"} }, nil},
		{"relative", func(s *RunSpec) { s.State = &StateSpec{Path: "state"} }, []string{`state_path: "state" must be a clean absolute path other than /`}},
		{"root", func(s *RunSpec) { s.State = &StateSpec{Path: "/"} }, []string{`state_path: "/" must be a clean absolute path other than /`}},
		{"unclean", func(s *RunSpec) { s.State = &StateSpec{Path: "/state/"} }, []string{`state_path: "/state/" must be a clean absolute path other than /`}},
		{"the shared directory", func(s *RunSpec) { s.State = &StateSpec{Path: "/workspace"} }, []string{`state_path: "/workspace" must not overlap job.shared_directory`}},
		{"in the shared directory", func(s *RunSpec) { s.State = &StateSpec{Path: "/workspace/s"} }, []string{`state_path: "/workspace/s" must not overlap job.shared_directory`}},
		{"above the shared directory", func(s *RunSpec) {
			s.Job.SharedDirectory = "/a/work"
			s.State = &StateSpec{Path: "/a"}
		}, []string{`state_path: "/a" must not overlap job.shared_directory`}},
		{"the sidecars' binaries", func(s *RunSpec) { s.State = &StateSpec{Path: "/opt/container-driver/s"} }, []string{
			`state_path: "/opt/container-driver/s" collides with a path the driver mounts`}},
		{"above the token", func(s *RunSpec) { s.State = &StateSpec{Path: "/var/run/secrets"} }, []string{
			`state_path: "/var/run/secrets" collides with a path the driver mounts`}},
	})
}

func TestValidate_Inputs(t *testing.T) {
	runValidateCases(t, (*RunSpec).validateInputs, []validateCase{
		{"an object", func(s *RunSpec) { s.Inputs = map[string]any{"a": []any{1, "b"}} }, nil},
		{"not JSON", func(s *RunSpec) { s.Inputs = map[string]any{"f": func() {}} }, []string{
			"inputs: cannot be written as JSON: json: unsupported type: func()"}},
	})
}

// The messages above must not echo a secret's value.
func TestValidate_MessagesHoldNoSecret(t *testing.T) {
	s := minimalSpec()
	s.Job.SecretVariables = map[string]string{"A": "s3c"}
	s.SecretFiles = map[string]string{"f": "s3c"}
	s.Source = &SourceSpec{URL: "https://tok3n@h/r.git", Password: "s3c"}
	err := s.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, secret := range []string{"s3c", "tok3n"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%q in %v", secret, err)
		}
	}
}
