package containerdriver

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// ParsePodTemplate parses a job.pod_template document strictly (an unknown field is an
// error, so a typo does not silently do nothing) and rejects the fields the specification
// does not let a user override.
func ParsePodTemplate(doc string) (*corev1.PodTemplateSpec, error) {
	var pt corev1.PodTemplateSpec
	if strings.TrimSpace(doc) == "" {
		return &pt, nil
	}
	if err := yaml.UnmarshalStrict([]byte(doc), &pt); err != nil {
		return nil, fmt.Errorf("not a valid pod template (a PodTemplateSpec with metadata and spec): %w", err)
	}
	if err := checkForbidden(&pt); err != nil {
		return nil, err
	}
	return &pt, nil
}

// driverInitContainers are the init containers whose contract fields the driver owns.
var driverInitContainers = map[string]bool{
	contract.ContainerOutputsFetcher: true,
	contract.ContainerPreChecks:      true,
	contract.ContainerGitInit:        true,
}

func checkForbidden(pt *corev1.PodTemplateSpec) error {
	var problems []string
	if pt.Namespace != "" {
		problems = append(problems, "metadata.namespace cannot be overridden: the Job runs in job.namespace")
	}
	for _, c := range pt.Spec.Containers {
		if c.Name != contract.ContainerRunner {
			continue
		}
		p := "spec.containers[runner]."
		if len(c.Args) > 0 {
			problems = append(problems, p+"args cannot be overridden: use job.command")
		}
		if len(c.Command) > 0 {
			problems = append(problems, p+"command cannot be overridden: use job.command")
		}
		if c.Image != "" {
			problems = append(problems, p+"image cannot be overridden: use job.image")
		}
		if len(c.Env) > 0 {
			problems = append(problems, p+"env cannot be overridden: use job.variables or the secret job variables")
		}
		if len(c.EnvFrom) > 0 {
			problems = append(problems, p+"envFrom cannot be overridden: use job.variables or the secret job variables")
		}
		if len(c.VolumeMounts) > 0 {
			problems = append(problems, p+"volumeMounts cannot be overridden: use files, secret files or job.shared_directory")
		}
	}
	for _, c := range pt.Spec.InitContainers {
		if !driverInitContainers[c.Name] {
			continue
		}
		p := fmt.Sprintf("spec.initContainers[%s].", c.Name)
		for _, f := range []struct {
			set  bool
			name string
		}{
			{len(c.Args) > 0, "args"}, {len(c.Command) > 0, "command"}, {len(c.Env) > 0, "env"},
			{len(c.EnvFrom) > 0, "envFrom"}, {len(c.VolumeMounts) > 0, "volumeMounts"}, {c.WorkingDir != "", "workingDir"},
		} {
			if f.set {
				problems = append(problems, p+f.name+" cannot be overridden: the driver defines it")
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// mergePodTemplate merges the user's templates, in order, into the default one with
// Kubernetes' strategic merge (containers, env and volumes merge by name).
func mergePodTemplate(base *corev1.PodTemplateSpec, docs []string) (*corev1.PodTemplateSpec, error) {
	out := base
	for _, doc := range docs {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		if _, err := ParsePodTemplate(doc); err != nil {
			return nil, &FieldError{Field: "job.pod_template", Detail: err.Error()}
		}
		orig, err := json.Marshal(out)
		if err != nil {
			return nil, err
		}
		// The document itself is the patch, so an explicit null still removes a default.
		patch, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			return nil, &FieldError{Field: "job.pod_template", Detail: err.Error()}
		}
		merged, err := strategicpatch.StrategicMergePatch(orig, patch, corev1.PodTemplateSpec{})
		if err != nil {
			return nil, &FieldError{Field: "job.pod_template", Detail: fmt.Sprintf("cannot be merged into the default template: %v", err)}
		}
		var next corev1.PodTemplateSpec
		if err := json.Unmarshal(merged, &next); err != nil {
			return nil, err
		}
		out = &next
	}
	return out, nil
}
