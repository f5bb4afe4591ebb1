package containerdriver

import (
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// ParsePodTemplate parses a job.pod_template document strictly.
func ParsePodTemplate(doc string) (*corev1.PodTemplateSpec, error) {
	var pt corev1.PodTemplateSpec
	if err := yaml.UnmarshalStrict([]byte(doc), &pt); err != nil {
		return nil, err
	}
	return &pt, nil
}
