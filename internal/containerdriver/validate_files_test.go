package containerdriver

import "testing"

func TestValidate_FilePaths(t *testing.T) {
	runValidateCases(t, (*RunSpec).validateFilePaths, []validateCase{
		{"relative, absolute and nested", func(s *RunSpec) {
			s.Files = map[string]string{"a.txt": "x", "/etc/app/b.txt": "x", "conf/c.json": "{}"}
			s.SecretFiles = map[string]string{"d.txt": "long-enough"}
		}, nil},
		{"empty path", func(s *RunSpec) { s.Files = map[string]string{"": "x"} }, []string{`files[""]: the path must not be empty`}},
		{"directory", func(s *RunSpec) { s.Files = map[string]string{"conf/": "x"} }, []string{`files["conf/"]: the path names a directory; it must name a file`}},
		{"unclean", func(s *RunSpec) { s.Files = map[string]string{"a//b": "x"} }, []string{`files["a//b"]: the path must be clean and must not contain '..' (use "a/b")`}},
		{"escapes", func(s *RunSpec) { s.Files = map[string]string{"../x": "x"} }, []string{
			`files["../x"]: the path must not contain '..': a file must stay inside the shared directory; name it relative to the shared directory, for example "conf/app.json"`}},
		{"the shared directory", func(s *RunSpec) { s.Files = map[string]string{"/workspace": "x"} }, []string{`files["/workspace"]: the path is the shared directory itself`}},
		{"the inputs", func(s *RunSpec) {
			s.SecretFiles = map[string]string{"/var/run/containerdriver/inputs/x": "long-enough"}
		}, []string{
			`secret_files["/var/run/containerdriver/inputs/x"]: the path collides with a path the driver mounts`}},
		{"a contract file", func(s *RunSpec) { s.Files = map[string]string{"error.txt": "x"} }, []string{`files["error.txt"]: "error.txt" is a contract file of the shared directory`}},
		{"twice", func(s *RunSpec) {
			s.Files = map[string]string{"a": "x"}
			s.SecretFiles = map[string]string{"/workspace/a": "long-enough"}
		}, []string{`secret_files["/workspace/a"]: resolves to /workspace/a, as files["a"] does`}},
		{"plan file with plan support", func(s *RunSpec) {
			s.PlanSupport = true
			s.Files = map[string]string{"plan.txt": "x"}
		}, []string{`files["plan.txt"]: /workspace/plan.txt is where a runner with plan support writes its plan (PLAN_FILE); this run has a plan block, so name the file differently`}},
		{"deployer exports", func(s *RunSpec) {
			s.Contract = ContractContainerDeployer
			s.Files = map[string]string{"exports": "x"}
		}, []string{`files["exports"]: /workspace/exports is where the runner writes its exports (EXPORTS_PATH); name the file differently`}},
		{"credentials file beside a file", func(s *RunSpec) {
			s.Files = map[string]string{"creds.json": "x"}
			s.CredentialsConfig = &CredentialsConfig{File: "creds.json"}
		}, []string{`credentials_config.file: resolves to /workspace/creds.json, as files["creds.json"] does`}},
		{"script variables file beside a secret file", func(s *RunSpec) {
			s.SecretFiles = map[string]string{"/etc/vars.json": "long-enough"}
			s.CredentialsConfig = &CredentialsConfig{File: "c.json", ScriptVariables: &ScriptVariables{File: "/etc/vars.json"}}
		}, []string{`credentials_config.script_variables.file: resolves to /etc/vars.json, as secret_files["/etc/vars.json"] does`}},
	})
}
