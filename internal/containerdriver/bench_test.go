package containerdriver

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkBuildJob measures building a Job: the minimal spec is the baseline, the full
// one adds files, secrets, a git source, credentials and two pod templates to merge.
func BenchmarkBuildJob(b *testing.B) {
	full := minimalSpec()
	full.Files = map[string]string{}
	for i := 0; i < 20; i++ {
		full.Files[fmt.Sprintf("modules/m%d/main.tf", i)] = strings.Repeat("x", 2048)
	}
	full.SecretFiles = map[string]string{"creds/key.pem": strings.Repeat("k", 4096)}
	full.Job.Variables = map[string]string{"A": "1", "B": "2", "C": "3"}
	full.Job.SecretVariables = map[string]string{"TOKEN": "tok-123456"}
	full.Source = &SourceSpec{URL: "https://git.example/org/repo.git", Ref: "refs/heads/main", Password: "p-123456"}
	full.Credentials = map[string]any{"aws": map[string]any{"key": "AKIA", "secret": "s"}}
	full.CredentialsConfig = &CredentialsConfig{Environment: map[string]string{"AWS_KEY": "aws.key"}, File: "creds.json"}
	full.Job.PodTemplates = []string{
		"spec:\n  imagePullSecrets: [{name: regcred}]\n  containers:\n  - name: runner\n    resources: {limits: {memory: 2Gi}}\n",
		"metadata: {labels: {team: a}}\nspec:\n  nodeSelector: {pool: iac}\n",
	}
	full.Inputs = map[string]any{"bucket": "b", "tags": []any{"a", "b"}}
	for _, c := range []struct {
		name string
		spec *RunSpec
	}{{"minimal", minimalSpec()}, {"full", full}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := BuildJob(c.spec, "create"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
