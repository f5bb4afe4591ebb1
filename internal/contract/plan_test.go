package contract

import "testing"

func TestPlanNames_ChunkMountsAndObjects(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{PlanArtifactChunkMount(0), PlanArtifactMountPath + "/0"},
		{PlanArtifactChunkMount(3), PlanArtifactMountPath + "/3"},
		{PlanObjectName("cd-run-1"), "cd-run-1-plan"},
		{OutputsObjectName("cd-run-1"), "cd-run-1-out"},
		{ObjectName("cd-run-1", "files"), "cd-run-1-files"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
	if PlanArtifactChunkMount(1) == PlanArtifactChunkMount(2) {
		t.Error("two chunks share a mount")
	}
}
