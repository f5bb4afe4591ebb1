package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKubeconfigPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "kubeconfig"), 0o755); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "kubeconfig", "admin.kubeconfig")
	if err := os.WriteFile(local, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flag string
		env  map[string]string
		want string
	}{
		{"f", map[string]string{envKubeconfig: "k"}, "f"},
		{"", map[string]string{envKubeconfig: "k", envClusterDir: dir}, "k"},
		{"", map[string]string{envClusterDir: dir}, local},
	} {
		if got, err := kubeconfigPath(tc.flag, env(tc.env)); err != nil || got != tc.want {
			t.Errorf("kubeconfigPath(%q, %v) = %q, %v; want %q", tc.flag, tc.env, got, err, tc.want)
		}
	}
	if _, err := kubeconfigPath("", env(map[string]string{envClusterDir: t.TempDir()})); err == nil || !strings.Contains(err.Error(), "make cluster-up") {
		t.Errorf("no cluster: error = %v, want the hint", err)
	}
}
