package gitinit

import "testing"

// copyTree itself is tested end to end in gitinit_test.go; here which paths it leaves alone.

func TestReservedPath(t *testing.T) {
	skip := map[string]bool{".git": true, "state/dir": true}
	for _, tc := range []struct {
		name string
		want bool
	}{
		{".git", true},
		{".git/config", true},
		{"state/dir/x/y", true},
		{"state/dir", true},
		{"state", false},
		{"state/other", false},
		{".github/workflows", false},
		{"src/.git", false},
	} {
		if got := reservedPath(skip, tc.name); got != tc.want {
			t.Errorf("reservedPath(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
