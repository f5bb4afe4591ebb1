package containerdriver

import "testing"

func TestRunSpecNamespace_DefaultWhenUnset(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"", DefaultNamespace},
		{"team-a", "team-a"},
	} {
		s := &RunSpec{Job: JobSpec{Namespace: tc.set}}
		if got := s.Namespace(); got != tc.want {
			t.Errorf("Namespace() with %q = %q, want %q", tc.set, got, tc.want)
		}
	}
	if DefaultNamespace == "" {
		t.Error("DefaultNamespace is empty")
	}
}
