package contract

import "unicode/utf8"

// What the sidecars share with the executor beyond the runner's environment: where their
// files are, where a failure is reported, which permissions they need, and how a payload
// is cut into the chunk objects ChunkName names.

// TerminationLogPath is the kubelet's default terminationMessagePath: a sidecar that fails
// writes its message there, for kubectl describe and the executor's error.
const TerminationLogPath = "/dev/termination-log"

// APIAccessNamespaceFile is the pod's namespace in the API access volume.
const APIAccessNamespaceFile = APIAccessMountPath + "/namespace"

// Labels of the Secrets that keep a run's state directory (internal/statedir): a head
// Secret names the current generation, chunk Secrets hold its archive.
const (
	// LabelStateOf carries a digest of the run id the state belongs to.
	LabelStateOf = "containerdriver.io/state-of"
	// LabelStateGeneration says which generation a chunk belongs to.
	LabelStateGeneration = "containerdriver.io/state-generation"
	RoleStateHead        = "state-head"
	RoleStateChunk       = "state-chunk"
)

// Env is a sidecar's environment: os.Getenv in the pod, a map in tests.
type Env func(name string) string

// File is where a sidecar finds a contract file: the environment variable name when it is
// set (name may be "" for a file no variable names), else the file's place in the shared
// directory (SCRIPTS_DIRECTORY, passed to inShared), else "".
func (e Env) File(name string, inShared func(shared string) string) string {
	if name != "" {
		if v := e(name); v != "" {
			return v
		}
	}
	if shared := e(EnvScriptsDirectory); shared != "" {
		return inShared(shared)
	}
	return ""
}

// Permission is a verb a run's service account must be allowed on a resource of the core
// API group in the run's namespace.
type Permission struct{ Verb, Resource string }

// SidecarPermissions are what every run's pod needs: outputs-fetcher creates the
// ConfigMaps and Secrets the outputs come back through. pre-checks checks them before the
// runner starts, and a runner environment's Role grants them.
func SidecarPermissions() []Permission {
	return []Permission{{"create", "configmaps"}, {"create", "secrets"}}
}

// StatePermissions are needed on top of SidecarPermissions by a run that keeps a state
// directory (STATE_PATH): state-restore reads the state Secrets, outputs-fetcher replaces
// them.
func StatePermissions() []Permission {
	return []Permission{{"get", "secrets"}, {"list", "secrets"}, {"update", "secrets"}, {"delete", "secrets"}}
}

// Chunks cuts b into the payloads of chunk objects: pieces of at most size bytes, in
// order, one empty piece for empty b.
func Chunks(b []byte, size int) [][]byte { return chunks(b, size, false) }

// TextChunks is Chunks for text: each piece ends on a UTF-8 character boundary when it
// can, so that a ConfigMap's string value never holds half a character.
func TextChunks(b []byte, size int) [][]byte { return chunks(b, size, true) }

func chunks(b []byte, size int, text bool) [][]byte {
	if len(b) == 0 {
		return [][]byte{nil}
	}
	var out [][]byte
	for len(b) > 0 {
		n := min(size, len(b))
		if text && n < len(b) {
			cut := n
			for cut > n-utf8.UTFMax && cut > 0 && !utf8.RuneStart(b[cut]) {
				cut--
			}
			if cut > 0 && utf8.RuneStart(b[cut]) {
				n = cut
			}
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}
