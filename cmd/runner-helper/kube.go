package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

var (
	labelValueRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	// Terraform's kubernetes backend splits large states into Secrets named <name>-1,
	// <name>-2..., and rejects a suffix that ends like one.
	chunkLikeRe = regexp.MustCompile(`-[0-9]+$`)
)

// stateSecretSuffix derives the kubernetes backend's secret_suffix from the run id. The
// suffix is also a label value (tfstateSecretSuffix), so it must be a DNS label of at most
// 63 characters; a run id that is one (a UUID is, almost always) is used as it is, so the
// state Secret is easy to find; any other run id is hashed.
func stateSecretSuffix(runID string) string {
	if validSuffix(runID) == nil {
		return runID
	}
	return "run-" + contract.ShortHash(runID, 20)
}

func validSuffix(s string) error {
	switch {
	case s == "":
		return errors.New("must not be empty")
	case len(s) > 63:
		return errors.New("must be at most 63 characters (it is a label value)")
	case !labelValueRe.MatchString(s):
		return errors.New("must consist of lower case letters, digits and '-', and start and end with a letter or digit")
	case chunkLikeRe.MatchString(s):
		return errors.New("must not end with '-' and a number (the backend names its chunk Secrets that way)")
	}
	return nil
}

// stateSecretName is the name the kubernetes backend gives the state of a workspace.
func stateSecretName(workspace, suffix string) string {
	return "tfstate-" + workspace + "-" + suffix
}

// podNamespace reads the namespace Kubernetes mounts into every pod with a service account.
func podNamespace(saDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(saDir, "namespace"))
	if err != nil {
		return "", fmt.Errorf("cannot tell the pod's namespace (%w): set %s or -state-namespace, or choose another backend with -backend", err, envStateNS)
	}
	return strings.TrimSpace(string(b)), nil
}

// kubeClient is the little of a Kubernetes client the helper needs, on the standard library:
// the pod's service account token over the in-cluster endpoint.
//
// Why not client-go (rest.InClusterConfig and a client, as the sidecars' kube package
// does): runner-helper is a binary of its own, copied into every OpenTofu and Terraform
// runner image and into the sidecar image beside the multi-call sidecar, and it makes
// three requests, once, at the end of a destroy (list the state Secrets by label, delete
// them, delete the lock Lease). Linking client-go for them makes it more than twice as big:
// built as the images are (CGO_ENABLED=0 go build -trimpath -ldflags="-s -w"), it is
// 6.7 MB now, 11.1 MB with rest.InClusterConfig and rest.HTTPClientFor alone, and 14.1 MB
// with client-go's smallest client that can list and delete Secrets and Leases
// (k8s.io/client-go/metadata): with the 17.4 MB sidecar that is 31.6 MB, over the sidecar
// image's 30 MB target (TestBinary_ThroughLinkAndSize in sidecars/sidecar). The part of
// client-go's in-cluster configuration that matters is kept: the token is read again on
// every request (the kubelet rotates it), the cluster CA of the service account is the
// only one trusted, and the API server's Status message is reported.
type kubeClient struct {
	base      string
	tokenFile string
	http      *http.Client
}

func inClusterClient(saDir string, getenv func(string) string) (*kubeClient, error) {
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("KUBERNETES_SERVICE_HOST/PORT are not set: not running in a pod")
	}
	ca, err := os.ReadFile(filepath.Join(saDir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("read the cluster CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, errors.New("the cluster CA file holds no certificate")
	}
	return &kubeClient{
		base:      "https://" + net.JoinHostPort(host, port),
		tokenFile: filepath.Join(saDir, "token"),
		http: &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		},
	}, nil
}

// do sends a request and returns the status code and body. The token is read on every call
// because the kubelet rotates it.
func (k *kubeClient) do(ctx context.Context, method, path string) (int, []byte, error) {
	token, err := os.ReadFile(k.tokenFile)
	if err != nil {
		return 0, nil, fmt.Errorf("read the service account token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, k.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Accept", "application/json")
	resp, err := k.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, body, err
}

// deleteState removes the state Secret(s) of one workspace and its lock Lease, once a
// destroy has emptied the state, so a destroyed resource leaves nothing in the namespace.
// It needs secrets list/delete and leases delete.
func (k *kubeClient) deleteState(ctx context.Context, ns, workspace, suffix string) ([]string, error) {
	selector := "tfstate=true,tfstateSecretSuffix=" + suffix + ",tfstateWorkspace=" + workspace
	listPath := "/api/v1/namespaces/" + url.PathEscape(ns) + "/secrets?labelSelector=" + url.QueryEscape(selector)
	code, body, err := k.do(ctx, http.MethodGet, listPath)
	if err != nil {
		return nil, fmt.Errorf("list state secrets: %w", err)
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("list state secrets in %s: %s", ns, apiError(code, body))
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("list state secrets: %w", err)
	}
	var deleted []string
	for _, it := range list.Items {
		p := "/api/v1/namespaces/" + url.PathEscape(ns) + "/secrets/" + url.PathEscape(it.Metadata.Name)
		code, body, err := k.do(ctx, http.MethodDelete, p)
		if err != nil {
			return deleted, fmt.Errorf("delete secret %s: %w", it.Metadata.Name, err)
		}
		if code != http.StatusOK && code != http.StatusAccepted && code != http.StatusNotFound {
			return deleted, fmt.Errorf("delete secret %s/%s: %s", ns, it.Metadata.Name, apiError(code, body))
		}
		deleted = append(deleted, "secret/"+it.Metadata.Name)
	}
	lease := "lock-" + stateSecretName(workspace, suffix)
	code, body, err = k.do(ctx, http.MethodDelete, "/apis/coordination.k8s.io/v1/namespaces/"+url.PathEscape(ns)+"/leases/"+url.PathEscape(lease))
	if err != nil {
		return deleted, fmt.Errorf("delete lease %s: %w", lease, err)
	}
	switch code {
	case http.StatusOK, http.StatusAccepted:
		deleted = append(deleted, "lease/"+lease)
	case http.StatusNotFound:
	default:
		return deleted, fmt.Errorf("delete lease %s/%s: %s", ns, lease, apiError(code, body))
	}
	return deleted, nil
}

func apiError(code int, body []byte) string {
	var st struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &st) == nil && st.Message != "" {
		return fmt.Sprintf("%d %s", code, st.Message)
	}
	return fmt.Sprintf("%d %s", code, http.StatusText(code))
}
