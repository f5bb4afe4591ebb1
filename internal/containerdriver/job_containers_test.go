package containerdriver

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The sidecars' token is mounted only into the containers that call the API, and its
// lifetime is 3600 s, not the 3607 s the API server extends to a year.
func TestBuildJob_TokenOnlyWhereUsed(t *testing.T) {
	spec := minimalSpec()
	spec.Source = &SourceSpec{URL: "https://git.example.com/r.git"}
	spec.State = &StateSpec{Path: "/state"}
	built, err := BuildJob(spec, contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	pod := built.Job.Spec.Template.Spec
	var got []string
	for _, c := range append(pod.InitContainers, pod.Containers...) {
		for _, m := range c.VolumeMounts {
			if m.Name == contract.APIAccessVolume {
				got = append(got, c.Name)
			}
		}
	}
	want := []string{contract.ContainerOutputsFetcher, contract.ContainerPreChecks, contract.ContainerStateRestore}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("containers with the token (-want +got):\n%s", diff)
	}
	for _, v := range pod.Volumes {
		if v.Name != contract.APIAccessVolume {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil && (s.ServiceAccountToken.ExpirationSeconds == nil || *s.ServiceAccountToken.ExpirationSeconds != 3600) {
				t.Errorf("token expirationSeconds = %v, want 3600", s.ServiceAccountToken.ExpirationSeconds)
			}
		}
	}
}
