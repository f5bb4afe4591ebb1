package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// TestAccProvider_ExecCredentialRefreshed runs a create that lasts longer than the
// credential its kubeconfig's exec plugin hands out (4 s): the provider must call the
// plugin again during the run instead of failing with 401 once the first credential
// expired. The plugin, a shell script, records the process that called it (its parent,
// the provider) and when; one provider process must have called it at least twice, the
// calls at least the credential's life apart.
func TestAccProvider_ExecCredentialRefreshed(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	kc, err := clientcmd.LoadFromFile(identityKubeconfig(t, e, "provider-identity", documentedProviderRules))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tokenFile, calls := filepath.Join(dir, "token"), filepath.Join(dir, "calls")
	if err := os.WriteFile(tokenFile, []byte(kc.AuthInfos["provider-identity"].Token), 0o600); err != nil {
		t.Fatal(err)
	}
	const life = 4
	plugin := filepath.Join(dir, "credential.sh")
	if err := os.WriteFile(plugin, []byte(fmt.Sprintf(`#!/bin/sh
now=$(date +%%s)
echo "$PPID $now" >> %q
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%%s","expirationTimestamp":"%%s"}}' \
  "$(cat %q)" "$(date -u -d "@$((now + %d))" +%%Y-%%m-%%dT%%H:%%M:%%SZ)"
`, calls, tokenFile, life)), 0o755); err != nil {
		t.Fatal(err)
	}
	kc.AuthInfos["provider-identity"] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion: "client.authentication.k8s.io/v1", Command: plugin, InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}}
	e.kubeconfig = filepath.Join(dir, "exec.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, e.kubeconfig); err != nil {
		t.Fatal(err)
	}
	c.write(e.runConfig(`{ sleep_seconds = 15, sleep_on = "create", outputs = { done = "yes" } }`, ""))
	out := c.must("create", "apply", "-auto-approve")
	if !strings.Contains(out, `"done" = "yes"`) {
		t.Errorf("the run's outputs did not come back:\n%s", out)
	}
	b, err := os.ReadFile(calls)
	if err != nil {
		t.Fatalf("the exec plugin was never called: %v", err)
	}
	byProcess := map[string][]int64{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			t.Fatalf("plugin call record %q", l)
		}
		at, _ := strconv.ParseInt(f[1], 10, 64)
		byProcess[f[0]] = append(byProcess[f[0]], at)
	}
	refreshed := false
	for _, at := range byProcess {
		if len(at) >= 2 && at[len(at)-1]-at[0] >= life {
			refreshed = true
		}
	}
	if !refreshed {
		t.Errorf("no provider process called the exec plugin again after its %d s credential expired (calls by process and time: %v)", life, byProcess)
	}
	t.Logf("exec plugin calls by process: %v", byProcess)
	c.destroyAndCheck(e)
}
