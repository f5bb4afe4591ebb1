package containerdriver

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// ParsePodTemplate parses a job.pod_template document strictly (an unknown field is an
// error, so a typo does not silently do nothing) and rejects the fields the contract (docs/guides/contract.md)
// does not let a user override, and every other way to remove or replace what the driver
// sets (see checkForbidden).
func ParsePodTemplate(doc string) (*corev1.PodTemplateSpec, error) {
	var pt corev1.PodTemplateSpec
	if strings.TrimSpace(doc) == "" {
		return &pt, nil
	}
	// The document is merged as a strategic merge patch, where an explicit null deletes
	// what the driver set: the checks read the document itself, not the typed struct, in
	// which a null and an absent field look the same.
	raw, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("not a valid pod template: %w", err)
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, fmt.Errorf("not a valid pod template: %w", err)
	}
	if problems := checkForbidden(tree); len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	if err := yaml.UnmarshalStrict([]byte(doc), &pt); err != nil {
		return nil, fmt.Errorf("not a valid pod template (a PodTemplateSpec with metadata and spec): %w", err)
	}
	return &pt, nil
}

// driverContainers are the containers the driver builds, by list: their contract fields
// belong to the driver.
var driverContainers = map[string]map[string]bool{
	"containers": {contract.ContainerRunner: true},
	"initContainers": {
		contract.ContainerOutputsFetcher: true, contract.ContainerPreChecks: true,
		contract.ContainerGitInit: true, contract.ContainerStateRestore: true,
	},
}

// driverVolumes are the volumes the driver builds; a template's volume of the same name
// would be merged into them.
var driverVolumes = map[string]bool{
	contract.SharedVolume: true, contract.InputsVolume: true, contract.FilesVolume: true, contract.SecretFiles: true,
	contract.APIAccessVolume: true, contract.StateVolume: true, contract.TargetVolume: true,
	contract.DeployerVolume: true, contract.DeployerVolume + "-content": true,
}

// containerFields are the fields of a driver container a template may not set, with the
// attribute to use instead.
var containerFields = []struct{ name, runner, sidecar string }{
	{"image", "use job.image", "use sidecar_image"},
	{"command", "use job.command", "the driver defines it"},
	{"args", "use job.command", "the driver defines it"},
	{"env", "use job.variables or job.secret_variables", "the driver defines it"},
	{"envFrom", "use job.variables or job.secret_variables", "the driver defines it"},
	{"volumeMounts", "use files, secret_files, job.shared_directory or job.mount_service_account_token", "the driver defines it"},
	{"volumeDevices", "the driver defines the runner's mounts", "the driver defines it"},
	{"restartPolicy", "the driver defines it", "the driver defines it"},
	{"workingDir", "", "the driver defines it"},
}

// checkForbidden lists, by field path, what a template may not do: remove anything (an
// explicit null or a $patch directive), override the contract fields of a driver container,
// replace a driver volume, change the pod's identity (service account, token) or restart
// policy, or run anything privileged, as root or in the host's namespaces.
func checkForbidden(tree any) []string {
	var problems []string
	add := func(field, why string) { problems = append(problems, field+" "+why) }
	walkNulls(tree, "", add)
	top, _ := tree.(map[string]any)
	if meta, ok := top["metadata"].(map[string]any); ok {
		if meta["namespace"] != nil {
			add("metadata.namespace", "cannot be overridden: the Job runs in job.namespace")
		}
	}
	spec, _ := top["spec"].(map[string]any)
	if spec == nil {
		return problems
	}
	for _, f := range []struct{ name, why string }{
		{"serviceAccountName", "cannot be set: use job.service_account (pre-checks verifies that one)"},
		{"serviceAccount", "cannot be set: use job.service_account (pre-checks verifies that one)"},
		{"automountServiceAccountToken", "cannot be set: use job.mount_service_account_token to give the runner its token"},
		{"restartPolicy", "cannot be overridden: a run is never restarted (IaC must not apply twice)"},
	} {
		if spec[f.name] != nil {
			add("spec."+f.name, f.why)
		}
	}
	for _, f := range []string{"hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace"} {
		if v, _ := spec[f].(bool); v {
			add("spec."+f, "cannot be true: a runner must not share the host's (or the sidecars') namespaces")
		}
	}
	if sc, ok := spec["securityContext"].(map[string]any); ok {
		checkSecurityContext(sc, "spec.securityContext", add)
	}
	for _, list := range []string{"containers", "initContainers"} {
		driver := driverContainers[list]
		items, _ := spec[list].([]any)
		for i, it := range items {
			c, _ := it.(map[string]any)
			name, _ := c["name"].(string)
			p := fmt.Sprintf("spec.%s[%s]", list, elemName(name, i))
			if sc, ok := c["securityContext"].(map[string]any); ok {
				checkSecurityContext(sc, p+".securityContext", add)
			}
			for _, m := range asList(c["volumeMounts"]) {
				if v, _ := m["name"].(string); v == contract.APIAccessVolume {
					add(p+".volumeMounts", "cannot mount "+contract.APIAccessVolume+": use job.mount_service_account_token")
				}
			}
			other := "initContainers"
			if list == "initContainers" {
				other = "containers"
			}
			if driverContainers[other][name] {
				add(p, fmt.Sprintf("is a container of spec.%s the driver builds; a template may only adjust it there", other))
				continue
			}
			if !driver[name] {
				continue
			}
			for _, f := range containerFields {
				why := f.sidecar
				if name == contract.ContainerRunner {
					why = f.runner
				}
				if c[f.name] != nil && why != "" {
					add(p+"."+f.name, "cannot be overridden: "+why)
				}
			}
		}
	}
	for i, v := range asList(spec["volumes"]) {
		name, _ := v["name"].(string)
		p := fmt.Sprintf("spec.volumes[%s]", elemName(name, i))
		if driverVolumes[name] {
			add(p, "cannot be overridden: the driver defines this volume; name yours differently")
		}
		if v["hostPath"] != nil {
			add(p+".hostPath", "cannot be used: a runner must not reach the node's file system")
		}
		if pr, ok := v["projected"].(map[string]any); ok {
			for _, src := range asList(pr["sources"]) {
				if src["serviceAccountToken"] != nil {
					add(p+".projected.sources.serviceAccountToken", "cannot be used: use job.mount_service_account_token")
				}
			}
		}
	}
	return problems
}

// checkSecurityContext refuses what the restricted Pod Security Standard refuses, for a
// pod's or a container's security context.
func checkSecurityContext(sc map[string]any, p string, add func(field, why string)) {
	if v, _ := sc["privileged"].(bool); v {
		add(p+".privileged", "cannot be true")
	}
	if v, _ := sc["allowPrivilegeEscalation"].(bool); v {
		add(p+".allowPrivilegeEscalation", "cannot be true")
	}
	if v, ok := sc["runAsNonRoot"].(bool); ok && !v {
		add(p+".runAsNonRoot", "cannot be false: runs do not run as root")
	}
	if v, ok := sc["runAsUser"].(float64); ok && v == 0 {
		add(p+".runAsUser", "cannot be 0 (root): runs do not run as root")
	}
	if v, _ := sc["procMount"].(string); v != "" && v != string(corev1.DefaultProcMount) {
		add(p+".procMount", "cannot be "+v)
	}
	if sp, ok := sc["seccompProfile"].(map[string]any); ok {
		if t, _ := sp["type"].(string); t == string(corev1.SeccompProfileTypeUnconfined) {
			add(p+".seccompProfile.type", "cannot be Unconfined")
		}
	}
	if caps, ok := sc["capabilities"].(map[string]any); ok {
		for _, c := range asStrings(caps["add"]) {
			if c != "NET_BIND_SERVICE" {
				add(p+".capabilities.add", "cannot add "+c+" (only NET_BIND_SERVICE)")
			}
		}
		if drop := caps["drop"]; drop != nil && !slices.Contains(asStrings(drop), "ALL") {
			add(p+".capabilities.drop", "must keep ALL: the list replaces the driver's")
		}
	}
}

// walkNulls reports every explicit null and every strategic merge patch directive ($patch,
// $retainKeys, $setElementOrder/..., $deleteFromPrimitiveList/...), which would delete
// or replace what the driver set.
func walkNulls(v any, p string, add func(field, why string)) {
	field := func(k string) string {
		if p == "" {
			return k
		}
		return p + "." + k
	}
	switch t := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(t)) {
			switch {
			case strings.HasPrefix(k, "$"):
				add(field(k), "cannot be used: a pod template adds and changes fields, it does not delete or replace the driver's")
			case t[k] == nil:
				add(field(k), "cannot be null: in a pod template null deletes what the driver set; leave the field out")
			default:
				walkNulls(t[k], field(k), add)
			}
		}
	case []any:
		for i, x := range t {
			name := ""
			if m, ok := x.(map[string]any); ok {
				name, _ = m["name"].(string)
			}
			if x == nil {
				add(fmt.Sprintf("%s[%d]", p, i), "cannot be null")
				continue
			}
			walkNulls(x, fmt.Sprintf("%s[%s]", p, elemName(name, i)), add)
		}
	}
}

func elemName(name string, i int) string {
	if name != "" {
		return name
	}
	return strconv.Itoa(i)
}

func asList(v any) []map[string]any {
	items, _ := v.([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func asStrings(v any) []string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s, ok := it.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// mergePodTemplate merges the user's templates, in order, into the default one with
// Kubernetes' strategic merge (containers, env and volumes merge by name). The documents
// were checked by RunSpec.Validate (ParsePodTemplate), which BuildJob runs first.
func mergePodTemplate(base *corev1.PodTemplateSpec, docs []string) (*corev1.PodTemplateSpec, error) {
	out := base
	for _, doc := range docs {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		orig, err := json.Marshal(out)
		if err != nil {
			return nil, err
		}
		// The document itself is the patch, so an explicit null still removes a default.
		patch, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			return nil, &FieldError{Path: Root("job").Attr("pod_template"), Detail: err.Error()}
		}
		merged, err := strategicpatch.StrategicMergePatch(orig, patch, corev1.PodTemplateSpec{})
		if err != nil {
			return nil, &FieldError{Path: Root("job").Attr("pod_template"), Detail: fmt.Sprintf("cannot be merged into the default template: %v", err)}
		}
		var next corev1.PodTemplateSpec
		if err := json.Unmarshal(merged, &next); err != nil {
			return nil, err
		}
		out = &next
	}
	return out, nil
}
