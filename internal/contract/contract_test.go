package contract

import (
	"regexp"
	"strings"
	"testing"
)

func TestContractMismatch_RefusesOnlyAnotherVersion(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		refuse     bool
	}{
		{"older provider that does not ask", "", false},
		{"same version", Version, false},
		{"another version", Version + "-other", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ContractMismatch(tc.want)
			if (got != "") != tc.refuse {
				t.Fatalf("ContractMismatch(%q) = %q, refuse %v", tc.want, got, tc.refuse)
			}
			if tc.refuse {
				// The message names both versions and the way out.
				for _, part := range []string{Version, tc.want, "sidecar_image", "CONTAINERDRIVER_SIDECAR_IMAGE"} {
					if !strings.Contains(got, part) {
						t.Errorf("message %q does not name %q", got, part)
					}
				}
			}
		})
	}
}

func TestChunkName_FirstChunkKeepsTheBase(t *testing.T) {
	for _, tc := range []struct {
		i    int
		want string
	}{
		{0, "job-out"},
		{1, "job-out-1"},
		{12, "job-out-12"},
	} {
		if got := ChunkName("job-out", tc.i); got != tc.want {
			t.Errorf("ChunkName(job-out, %d) = %q, want %q", tc.i, got, tc.want)
		}
	}
}

func TestShortHash_StableHexPrefixOfSHA256(t *testing.T) {
	// SHA-256("abc") is the FIPS 180-2 test vector.
	const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	for _, tc := range []struct {
		n    int
		want string
	}{
		{8, abc[:8]},
		{24, abc[:24]},
		{64, abc},
		{100, abc}, // longer than the digest: the whole digest
	} {
		if got := ShortHash("abc", tc.n); got != tc.want {
			t.Errorf("ShortHash(abc, %d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if ShortHash("abc", 16) == ShortHash("abd", 16) {
		t.Error("different inputs give the same hash")
	}
}

func TestSanitizeName_KeepsADNSLabelAlphabet(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"simple", "simple"},
		{"Mixed-Case_Name", "mixed-case-name"},
		{"a.b/c:d", "a-b-c-d"},
		{"--edge--", "edge"},
		{"  spaced  ", "spaced"},
		{"ünïcode9", "n-code9"},
		{"", ""},
		{"___", ""},
	} {
		got := SanitizeName(tc.in)
		if got != tc.want {
			t.Errorf("SanitizeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got != "" && !regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`).MatchString(got) {
			t.Errorf("SanitizeName(%q) = %q is not a DNS label", tc.in, got)
		}
	}
}

func TestSharedDirectoryFiles_JoinTheDirectory(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"outputs", OutputsFile("/shared/"), "/shared/" + OutputsFileName},
		{"secret outputs", SecretOutputsFile("/shared"), "/shared/" + SecretOutputsFileName},
		{"error", ErrorFile("/shared"), "/shared/" + ErrorFileName},
		{"git commit", GitCommitFile("/shared"), "/shared/" + GitCommitFileName},
		{"state restored", StateRestoredFile("/shared"), "/shared/" + StateRestoredFileName},
		{"exports", ExportsFile("/shared"), "/shared/" + ExportsFileName},
		{"plan", PlanFile("/shared"), "/shared/" + PlanFileName},
		{"inputs", InputsFile(), InputsMountPath + "/" + InputsFileKey},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestSidecarCommands_OnePerSidecarProgram(t *testing.T) {
	got := SidecarCommands()
	seen := map[string]bool{}
	for _, c := range got {
		if seen[c] {
			t.Errorf("command %q twice", c)
		}
		seen[c] = true
	}
	for _, c := range []string{OutputsFetcherCommand, PreChecksCommand, GitInitCommand, StateRestoreCommand} {
		if !seen[c] {
			t.Errorf("%q missing from %v", c, got)
		}
	}
}
