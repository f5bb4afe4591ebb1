package containerdriver

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The pod does not get its service account's token automatically
// (automountServiceAccountToken: false): the runner runs third-party code, and with the
// rights state_path needs the token reads every Secret of the namespace. Instead the
// driver projects the same three files the kubelet would (token, ca.crt, namespace) into
// a volume mounted, at the usual path so rest.InClusterConfig works unchanged, only into
// the containers that talk to the API, and into the runner when
// job.mount_service_account_token asks for it.

// apiAccessVolume is the projected token volume, as the kubelet's own kube-api-access-*.
func apiAccessVolume() corev1.Volume {
	return corev1.Volume{Name: contract.APIAccessVolume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: ptr.To[int32](0o444),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](contract.APIAccessTokenSeconds)}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
				Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			}}}},
		},
	}}}
}

// apiAccessMount mounts apiAccessVolume where client-go looks for it.
func apiAccessMount() corev1.VolumeMount {
	return corev1.VolumeMount{Name: contract.APIAccessVolume, MountPath: contract.APIAccessMountPath, ReadOnly: true}
}
