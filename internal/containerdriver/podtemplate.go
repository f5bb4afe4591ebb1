package containerdriver

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// A pod template is checked twice. Its document is decoded as the API server decodes a
// request with strict field validation (field names exact and case-sensitive, no unknown
// and no duplicate field) and must not hold an explicit null or a strategic merge patch
// directive. Then the pod it makes, after the merge, is compared with the pod the driver
// builds without it (checkMergedPod): whatever differs must be on an allow-list, so no
// spelling and no merge trick reaches a field the driver owns. ParsePodTemplate does both
// on one document against reference pods that have every driver container and volume (at
// plan time, without the rest of the run); BuildJob compares the real pod after all the
// run's templates are merged, before anything is created.

// ParsePodTemplate parses a job.pod_template document strictly and rejects everything the
// contract (docs/guides/contract.md) does not let a template change: it merges the document
// into the driver's pod and refuses every difference that is not on the allow-list.
func ParsePodTemplate(doc string) (*corev1.PodTemplateSpec, error) {
	var pt corev1.PodTemplateSpec
	if strings.TrimSpace(doc) == "" {
		return &pt, nil
	}
	raw, err := decodeStrict(doc, &pt)
	if err != nil {
		return nil, err
	}
	// A volume named like one of the driver's merges into it, or, in a run without it,
	// takes its place: refused whatever it holds, as the final check would on such a run.
	var problems []string
	for i, v := range pt.Spec.Volumes {
		if slices.Contains(driverVolumes, v.Name) {
			problems = append(problems, fmt.Sprintf("spec.volumes[%s] cannot be overridden: the driver defines this volume; name yours differently", elemName(v.Name, i)))
		}
	}
	refs, err := referencePods()
	if err != nil {
		return nil, fmt.Errorf("build the driver's reference pod: %w", err)
	}
	for _, ref := range refs {
		_, more, err := mergeTemplates(ref, [][]byte{raw})
		if err != nil {
			return nil, err
		}
		for _, p := range more {
			if !slices.Contains(problems, p) {
				problems = append(problems, p)
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return &pt, nil
}

// decodeStrict turns a template document into the JSON patch the merge uses and decodes
// it into pt, refusing duplicate, unknown and wrongly cased fields (the API server's strict
// field validation: sigs.k8s.io/yaml's YAMLToJSONStrict, then sigs.k8s.io/json's
// UnmarshalStrict), explicit nulls and $ directives.
func decodeStrict(doc string, pt *corev1.PodTemplateSpec) ([]byte, error) {
	raw, err := yaml.YAMLToJSONStrict([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPodTemplate, err)
	}
	// In a strategic merge patch an explicit null deletes what the driver set and a $
	// directive deletes or replaces it: the typed pod cannot tell a null from an absent
	// field, so these are read from the document itself.
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPodTemplate, err)
	}
	if _, ok := tree.(map[string]any); !ok {
		return nil, fmt.Errorf("%w (a PodTemplateSpec with metadata and spec): the document is not a mapping", ErrInvalidPodTemplate)
	}
	var problems []string
	walkNulls(tree, "", func(field, why string) { problems = append(problems, field+" "+why) })
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	strict, err := kjson.UnmarshalStrict(raw, pt)
	if err != nil {
		return nil, fmt.Errorf("%w (a PodTemplateSpec with metadata and spec): %w", ErrInvalidPodTemplate, err)
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("%w (a PodTemplateSpec with metadata and spec): %s "+
			"(field names are exact and case-sensitive, as the Kubernetes API reads them, and each is given once)", ErrInvalidPodTemplate, strings.Join(msgs, ", "))
	}
	return raw, nil
}

// referencePods are the pods BuildJob makes for two runs that between them have every
// container and volume the driver builds (both contracts, a source, state, files, a
// target), so that a document checked on its own is checked against all of them.
func referencePods() ([]*corev1.PodTemplateSpec, error) {
	reference.once.Do(func() { reference.pods, reference.err = buildReferencePods() })
	return reference.pods, reference.err
}

var reference struct {
	once sync.Once
	pods []*corev1.PodTemplateSpec
	err  error
}

func buildReferencePods() ([]*corev1.PodTemplateSpec, error) {
	secret := strings.Repeat("r", MinSecretLen)
	driver := &RunSpec{
		RunID: "reference",
		Job: JobSpec{
			Image: "reference.invalid/runner:1", SharedDirectory: "/reference", ServiceAccount: "reference",
			Variables: map[string]string{"REFERENCE": "1"}, SecretVariables: map[string]string{"REFERENCE_SECRET": secret},
		},
		Files: map[string]string{"reference": "1"}, SecretFiles: map[string]string{"reference-secret": secret},
		Source: &SourceSpec{URL: "https://reference.invalid/r.git", Password: secret},
		State:  &StateSpec{Path: "/reference-state"},
	}
	deployer := &RunSpec{
		RunID:    "reference",
		Contract: ContractContainerDeployer,
		Job:      JobSpec{Image: "reference.invalid/runner:1", SharedDirectory: "/reference", ServiceAccount: "reference"},
		State:    &StateSpec{Path: "/reference-state"},
		Target:   &TargetSpec{Target: map[string]any{"reference": "1"}, Content: secret},
		Content:  map[string]string{"reference": "1"}, ComponentDescriptor: "{}",
	}
	var out []*corev1.PodTemplateSpec
	for _, s := range []*RunSpec{driver, deployer} {
		objs, err := BuildJob(s, contract.ActionCreate)
		if err != nil {
			return nil, err
		}
		out = append(out, objs.Job.Spec.Template.DeepCopy())
	}
	return out, nil
}

// mergePodTemplate merges the user's templates, in order, into the default one with
// Kubernetes' strategic merge (containers, env and volumes merge by name), and refuses the
// result when it differs from the default in anything a template may not change. Each
// document was checked on its own by RunSpec.Validate (ParsePodTemplate), which BuildJob
// runs first; this checks what they make together on the run's own pod.
func mergePodTemplate(base *corev1.PodTemplateSpec, docs []string) (*corev1.PodTemplateSpec, error) {
	var patches [][]byte
	for _, doc := range docs {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		raw, err := decodeStrict(doc, &corev1.PodTemplateSpec{})
		if err != nil {
			return nil, ValidationErrors{{Path: Root("job").Attr("pod_template"), Detail: err.Error()}}
		}
		patches = append(patches, raw)
	}
	if len(patches) == 0 {
		return base, nil
	}
	out, problems, err := mergeTemplates(base, patches)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, ValidationErrors{{Path: Root("job").Attr("pod_template"), Detail: strings.Join(problems, "; ")}}
	}
	return out, nil
}

// mergeTemplates merges the patches into base and lists what the result changes that a
// template may not.
func mergeTemplates(base *corev1.PodTemplateSpec, patches [][]byte) (*corev1.PodTemplateSpec, []string, error) {
	orig, err := json.Marshal(base)
	if err != nil {
		return nil, nil, err
	}
	// The default as the merge reads it, so only what the templates change differs.
	var want corev1.PodTemplateSpec
	if err := kjson.UnmarshalCaseSensitivePreserveInts(orig, &want); err != nil {
		return nil, nil, err
	}
	cur := orig
	for _, patch := range patches {
		cur, err = strategicpatch.StrategicMergePatch(cur, patch, corev1.PodTemplateSpec{})
		if err != nil {
			return nil, nil, &FieldError{Path: Root("job").Attr("pod_template"), Detail: fmt.Sprintf("cannot be merged into the default template: %v", err)}
		}
	}
	var got corev1.PodTemplateSpec
	strict, err := kjson.UnmarshalStrict(cur, &got)
	if err == nil && len(strict) > 0 {
		err = errors.Join(strict...)
	}
	if err != nil {
		return nil, nil, &FieldError{Path: Root("job").Attr("pod_template"), Detail: fmt.Sprintf("cannot be merged into the default template: %v", err)}
	}
	dropAbsentDriverContainers(&want.Spec, &got.Spec)
	return &got, checkMergedPod(&want, &got), nil
}

// dropAbsentDriverContainers removes what a template says about a driver container the
// run does not have (git-init without a source, state-restore without state, pre-checks
// when skipped): a runner configuration's template may adjust them for the runs that have
// them. Each document was checked against a pod that has them, so what is dropped only
// adjusted them; and what is dropped does not run.
func dropAbsentDriverContainers(want, got *corev1.PodSpec) {
	has := func(list []corev1.Container, name string) bool {
		return slices.ContainsFunc(list, func(c corev1.Container) bool { return c.Name == name })
	}
	got.InitContainers = slices.DeleteFunc(got.InitContainers, func(c corev1.Container) bool {
		return slices.Contains(driverContainers["initContainers"], c.Name) && !has(want.InitContainers, c.Name)
	})
	got.Containers = slices.DeleteFunc(got.Containers, func(c corev1.Container) bool {
		return slices.Contains(driverContainers["containers"], c.Name) && !has(want.Containers, c.Name)
	})
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

// driverContainers are the containers the driver builds, by list, whether or not a given
// run has them: a template may adjust them only where the driver puts them.
var driverContainers = map[string][]string{
	"containers":     {contract.ContainerRunner},
	"initContainers": {contract.ContainerOutputsFetcher, contract.ContainerPreChecks, contract.ContainerGitInit, contract.ContainerStateRestore},
}

// driverVolumes are the volumes the driver builds, whether or not a given run has them; a
// template's volume of the same name would be merged into them.
var driverVolumes = []string{
	contract.SharedVolume, contract.InputsVolume, contract.FilesVolume, contract.SecretFiles,
	contract.APIAccessVolume, contract.StateVolume, contract.TargetVolume,
	contract.DeployerVolume, contract.DeployerVolume + "-content",
}

// podSpecFree are the fields of the pod's spec a template may set as it likes: where the
// pod runs, how it is scheduled, pulled and named on the network, how long it may take.
var podSpecFree = map[string]bool{
	"imagePullSecrets": true, "nodeSelector": true, "nodeName": true, "affinity": true, "tolerations": true,
	"schedulerName": true, "priorityClassName": true, "priority": true, "preemptionPolicy": true,
	"topologySpreadConstraints": true, "terminationGracePeriodSeconds": true, "activeDeadlineSeconds": true,
	"dnsPolicy": true, "dnsConfig": true, "hostAliases": true, "hostname": true, "subdomain": true,
	"setHostnameAsFQDN": true, "enableServiceLinks": true, "runtimeClassName": true, "overhead": true,
	"readinessGates": true, "os": true, "schedulingGates": true, "resourceClaims": true, "resources": true,
	// false runs the pod in a user namespace, which only confines it more.
	"hostUsers": true,
}

// podSpecReserved says why a template may not change a field of the pod's spec; a field
// in neither list is refused with a general reason.
var podSpecReserved = map[string]string{
	"serviceAccountName":           "cannot be set: use job.service_account (pre-checks verifies that one)",
	"serviceAccount":               "cannot be set: use job.service_account (pre-checks verifies that one)",
	"automountServiceAccountToken": "cannot be set: use job.mount_service_account_token to give the runner its token",
	"restartPolicy":                "cannot be overridden: a run is never restarted (IaC must not apply twice)",
	"hostNetwork":                  "cannot be true: a runner must not share the host's (or the sidecars') namespaces",
	"hostPID":                      "cannot be true: a runner must not share the host's (or the sidecars') namespaces",
	"hostIPC":                      "cannot be true: a runner must not share the host's (or the sidecars') namespaces",
	"shareProcessNamespace":        "cannot be true: a runner must not share the host's (or the sidecars') namespaces",
	"ephemeralContainers":          "cannot be set: a run's pod has no ephemeral containers",
}

// runnerFree are the fields of the runner container a template may change (its security
// context is checked on its own); sidecarFree those of the driver's other containers, which
// hold the service account's token, so a template may not run anything in them (no probe,
// no lifecycle hook).
var (
	runnerFree = map[string]bool{
		"resources": true, "resizePolicy": true, "imagePullPolicy": true, "workingDir": true, "ports": true,
		"livenessProbe": true, "readinessProbe": true, "startupProbe": true, "lifecycle": true,
		"stdin": true, "stdinOnce": true, "tty": true,
	}
	sidecarFree = map[string]bool{"resources": true, "resizePolicy": true, "imagePullPolicy": true}
)

// containerReserved says why a template may not change a field of a driver container: for
// the runner, and for the sidecars.
var containerReserved = map[string][2]string{
	"image":                    {"use job.image", "use sidecar_image"},
	"command":                  {"use job.command", "the driver defines it"},
	"args":                     {"use job.command", "the driver defines it"},
	"env":                      {"use job.variables or job.secret_variables", "the driver defines it"},
	"envFrom":                  {"use job.variables or job.secret_variables", "the driver defines it"},
	"volumeMounts":             {"use files, secret_files, job.shared_directory or job.mount_service_account_token", "the driver defines it"},
	"volumeDevices":            {"the driver defines the runner's mounts", "the driver defines it"},
	"restartPolicy":            {"the driver defines it", "the driver defines it (a sidecar's is Always, an init container's unset, so pre-checks and git-init run before the runner)"},
	"terminationMessagePath":   {"the driver reads the container's termination message to report a failure", "the driver reads the container's termination message"},
	"terminationMessagePolicy": {"the driver reads the container's termination message to report a failure", "the driver reads the container's termination message"},
	"workingDir":               {"", "the driver defines it"},
	"livenessProbe":            {"", "a probe would run a command in a container that holds the service account's token"},
	"readinessProbe":           {"", "a probe would run a command in a container that holds the service account's token"},
	"startupProbe":             {"", "a probe would run a command in a container that holds the service account's token"},
	"lifecycle":                {"", "a hook would run a command in a container that holds the service account's token"},
}

// checkMergedPod lists, by field path and with the reason, every difference between the
// driver's pod (want) and the pod a template made of it (got) that a template may not make.
func checkMergedPod(want, got *corev1.PodTemplateSpec) []string {
	var problems []string
	add := func(field, why string) { problems = append(problems, field+" "+why) }

	for _, f := range diffFields(want.ObjectMeta, got.ObjectMeta) {
		switch f {
		case "labels":
			// The driver sets its own labels again after the merge.
		case "annotations":
			checkAnnotations(got.Annotations, add)
		case "namespace":
			add("metadata.namespace", "cannot be overridden: the Job runs in job.namespace")
		default:
			add("metadata."+f, "cannot be set: a pod template's metadata may only add labels and annotations")
		}
	}

	ws, gs := &want.Spec, &got.Spec
	for _, f := range diffFields(*ws, *gs) {
		switch {
		case podSpecFree[f], f == "volumes", f == "containers", f == "initContainers", f == "securityContext":
		case f == "shareProcessNamespace" && !ptrTrue(gs.ShareProcessNamespace):
		case podSpecReserved[f] != "":
			add("spec."+f, podSpecReserved[f])
		default:
			add("spec."+f, "cannot be set: a pod template may not change it in the driver's pod")
		}
	}
	if gs.SecurityContext != nil {
		checkPodSecurityContext(gs.SecurityContext, "spec.securityContext", add)
	}

	tokenVolumes := map[string]bool{}
	wantVolumes := map[string]corev1.Volume{}
	for _, v := range ws.Volumes {
		wantVolumes[v.Name] = v
		if v.Projected != nil && slices.ContainsFunc(v.Projected.Sources, func(s corev1.VolumeProjection) bool { return s.ServiceAccountToken != nil }) {
			tokenVolumes[v.Name] = true
		}
	}
	seenVolumes := map[string]bool{}
	for i, v := range gs.Volumes {
		p := fmt.Sprintf("spec.volumes[%s]", elemName(v.Name, i))
		if seenVolumes[v.Name] {
			add(p, "is listed twice")
		}
		seenVolumes[v.Name] = true
		if w, ok := wantVolumes[v.Name]; ok {
			if !apiequality.Semantic.DeepEqual(w, v) {
				add(p, "cannot be overridden: the driver defines this volume; name yours differently")
			}
			continue
		}
		if slices.Contains(driverVolumes, v.Name) {
			add(p, "cannot be used: the driver names one of its volumes so; name yours differently")
		}
		if v.HostPath != nil {
			add(p+".hostPath", "cannot be used: a runner must not reach the node's file system")
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.ServiceAccountToken != nil {
					add(p+".projected.sources.serviceAccountToken", "cannot be used: use job.mount_service_account_token")
				}
			}
		}
	}
	for name := range wantVolumes {
		if !seenVolumes[name] {
			add(fmt.Sprintf("spec.volumes[%s]", name), "cannot be removed: the driver defines this volume")
		}
	}

	names := map[string]string{}
	for _, list := range []string{"initContainers", "containers"} {
		wantList, gotList := ws.InitContainers, gs.InitContainers
		other := "containers"
		if list == "containers" {
			wantList, gotList = ws.Containers, gs.Containers
			other = "initContainers"
		}
		wantByName := map[string]corev1.Container{}
		var order []string
		for _, c := range wantList {
			wantByName[c.Name] = c
		}
		for i := range gotList {
			c := &gotList[i]
			p := fmt.Sprintf("spec.%s[%s]", list, elemName(c.Name, i))
			if prev, dup := names[c.Name]; dup {
				add(p, "has the name of another container in spec."+prev)
				continue
			}
			names[c.Name] = list
			if slices.Contains(driverContainers[other], c.Name) {
				add(p, fmt.Sprintf("is a container of spec.%s the driver builds; a template may only adjust it there", other))
				continue
			}
			w, driver := wantByName[c.Name]
			if driver {
				order = append(order, c.Name)
				checkDriverContainer(&w, c, p, add)
			} else {
				checkAddedContainer(c, p, gs.SecurityContext, add)
			}
			for _, m := range c.VolumeMounts {
				if tokenVolumes[m.Name] && (!driver || !slices.ContainsFunc(w.VolumeMounts, func(x corev1.VolumeMount) bool { return x.Name == m.Name })) {
					add(p+".volumeMounts", "cannot mount "+m.Name+": use job.mount_service_account_token")
				}
			}
			checkContainerSecurity(c, p, gs.SecurityContext, add)
		}
		for _, c := range wantList {
			if _, ok := names[c.Name]; !ok {
				add(fmt.Sprintf("spec.%s[%s]", list, c.Name), "cannot be removed: the driver builds it")
			}
		}
		var wantOrder []string
		for _, c := range wantList {
			wantOrder = append(wantOrder, c.Name)
		}
		if len(order) == len(wantOrder) && !slices.Equal(order, wantOrder) {
			add("spec."+list, "cannot reorder the driver's containers: they start in the order the driver gives them")
		}
	}
	return problems
}

// checkDriverContainer refuses every change to a driver container outside its allow-list.
func checkDriverContainer(want, got *corev1.Container, p string, add func(field, why string)) {
	runner := got.Name == contract.ContainerRunner
	free := sidecarFree
	if runner {
		free = runnerFree
	}
	for _, f := range diffFields(*want, *got) {
		if free[f] || f == "securityContext" {
			continue
		}
		why := "the driver defines it"
		if r, ok := containerReserved[f]; ok {
			why = r[1]
			if runner && r[0] != "" {
				why = r[0]
			}
		}
		add(p+"."+f, "cannot be overridden: "+why)
	}
}

// restrictedHint is what a container a template adds needs to set.
const restrictedHint = "securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}"

// checkAddedContainer refuses a container a template adds that does not have the
// restricted security context the driver gives its own (runAsNonRoot and the seccomp
// profile may come from the pod's security context).
func checkAddedContainer(c *corev1.Container, p string, pod *corev1.PodSecurityContext, add func(field, why string)) {
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	var missing []string
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		missing = append(missing, "allowPrivilegeEscalation: false")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		missing = append(missing, "capabilities.drop: [ALL]")
	}
	if !ptrTrue(sc.RunAsNonRoot) && (pod == nil || !ptrTrue(pod.RunAsNonRoot)) {
		missing = append(missing, "runAsNonRoot: true")
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil && pod != nil {
		seccomp = pod.SeccompProfile
	}
	if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
		missing = append(missing, "seccompProfile.type: RuntimeDefault (or Localhost)")
	}
	if len(missing) > 0 {
		add(p+".securityContext", "lacks "+strings.Join(missing, ", ")+
			": every container a pod template adds runs with the restricted security context, as the driver's do; set "+restrictedHint)
	}
}

// checkContainerSecurity refuses, in any container's security context, what loosens the
// restricted Pod Security Standard: AppArmor, seccomp and SELinux may only be confined more.
func checkContainerSecurity(c *corev1.Container, p string, pod *corev1.PodSecurityContext, add func(field, why string)) {
	sc := c.SecurityContext
	if sc == nil {
		return
	}
	p += ".securityContext"
	if ptrTrue(sc.Privileged) {
		add(p+".privileged", "cannot be true")
	}
	if ptrTrue(sc.AllowPrivilegeEscalation) {
		add(p+".allowPrivilegeEscalation", "cannot be true")
	}
	if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
		add(p+".runAsNonRoot", "cannot be false: runs do not run as root")
	}
	if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		add(p+".runAsUser", "cannot be 0 (root): runs do not run as root")
	}
	if sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount {
		add(p+".procMount", "cannot be "+string(*sc.ProcMount))
	}
	if sc.Capabilities != nil {
		for _, cp := range sc.Capabilities.Add {
			if cp != "NET_BIND_SERVICE" {
				add(p+".capabilities.add", "cannot add "+string(cp)+" (only NET_BIND_SERVICE)")
			}
		}
		if !slices.Contains(sc.Capabilities.Drop, "ALL") {
			add(p+".capabilities.drop", "must keep ALL: the list replaces the driver's")
		}
	}
	if sc.WindowsOptions != nil && ptrTrue(sc.WindowsOptions.HostProcess) {
		add(p+".windowsOptions.hostProcess", "cannot be true")
	}
	checkProfiles(sc.SeccompProfile, sc.AppArmorProfile, sc.SELinuxOptions, p, add)
}

// checkPodSecurityContext is checkContainerSecurity for the pod's security context.
func checkPodSecurityContext(sc *corev1.PodSecurityContext, p string, add func(field, why string)) {
	if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
		add(p+".runAsNonRoot", "cannot be false: runs do not run as root")
	}
	if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		add(p+".runAsUser", "cannot be 0 (root): runs do not run as root")
	}
	if sc.WindowsOptions != nil && ptrTrue(sc.WindowsOptions.HostProcess) {
		add(p+".windowsOptions.hostProcess", "cannot be true")
	}
	for i, s := range sc.Sysctls {
		if !slices.Contains(safeSysctls, s.Name) {
			add(fmt.Sprintf("%s.sysctls[%s]", p, elemName(s.Name, i)), "cannot be set: only the sysctls Kubernetes counts as safe are allowed")
		}
	}
	checkProfiles(sc.SeccompProfile, sc.AppArmorProfile, sc.SELinuxOptions, p, add)
}

// safeSysctls are the namespaced sysctls the baseline Pod Security Standard allows.
var safeSysctls = []string{
	"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
}

// checkProfiles lets seccomp and AppArmor be the runtime's default or a profile installed
// on the node, never Unconfined, and SELinux only the container types.
func checkProfiles(seccomp *corev1.SeccompProfile, apparmor *corev1.AppArmorProfile, selinux *corev1.SELinuxOptions, p string, add func(field, why string)) {
	if seccomp != nil && seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost {
		add(p+".seccompProfile.type", "cannot be "+string(seccomp.Type)+": only RuntimeDefault or Localhost")
	}
	if apparmor != nil && apparmor.Type != corev1.AppArmorProfileTypeRuntimeDefault && apparmor.Type != corev1.AppArmorProfileTypeLocalhost {
		add(p+".appArmorProfile.type", "cannot be "+string(apparmor.Type)+": only RuntimeDefault or Localhost")
	}
	if selinux != nil {
		if selinux.User != "" {
			add(p+".seLinuxOptions.user", "cannot be set")
		}
		if selinux.Role != "" {
			add(p+".seLinuxOptions.role", "cannot be set")
		}
		switch selinux.Type {
		case "", "container_t", "container_init_t", "container_kvm_t", "container_engine_t":
		default:
			add(p+".seLinuxOptions.type", "cannot be "+selinux.Type+": only container_t, container_init_t, container_kvm_t or container_engine_t")
		}
	}
}

// checkAnnotations refuses the annotations that loosen a container's AppArmor or seccomp
// profile (the older form of the security context's fields).
func checkAnnotations(annotations map[string]string, add func(field, why string)) {
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		v := annotations[k]
		switch {
		case strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix):
			if v != corev1.DeprecatedAppArmorBetaProfileRuntimeDefault && !strings.HasPrefix(v, corev1.DeprecatedAppArmorBetaProfileNamePrefix) {
				add("metadata.annotations["+k+"]", "cannot be "+v+": only runtime/default or localhost/<profile>")
			}
		case k == corev1.SeccompPodAnnotationKey || strings.HasPrefix(k, corev1.SeccompContainerAnnotationKeyPrefix):
			if v != corev1.SeccompProfileRuntimeDefault && v != corev1.DeprecatedSeccompProfileDockerDefault && !strings.HasPrefix(v, corev1.SeccompLocalhostProfileNamePrefix) {
				add("metadata.annotations["+k+"]", "cannot be "+v+": only runtime/default or localhost/<profile>")
			}
		}
	}
}

// diffFields lists, by JSON name, the fields of two values of the same struct type that
// differ (semantically: a nil and an empty list are equal). A field a newer API adds is
// listed like any other, so it is refused until someone allows it.
func diffFields[T any](want, got T) []string {
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	var out []string
	for i := range wv.NumField() {
		f := wv.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if !apiequality.Semantic.DeepEqual(wv.Field(i).Interface(), gv.Field(i).Interface()) {
			out = append(out, name)
		}
	}
	return out
}

func ptrTrue(b *bool) bool { return b != nil && *b }
