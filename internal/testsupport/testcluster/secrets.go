package testcluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// SecretForms are the ways a secret value shows up in text, by name: as written, base64
// (standard and URL alphabets; unpadded, which the padded forms contain), JSON-escaped (by
// Go, which escapes <, > and &, and as other encoders and Go's %q do, which do not) and
// URL-encoded (query and path).
func SecretForms(v string) map[string]string {
	j, _ := json.Marshal(v)
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	unescaped := strings.TrimSpace(sb.String())
	return map[string]string{
		"raw":        v,
		"base64":     base64.RawStdEncoding.EncodeToString([]byte(v)),
		"base64url":  base64.RawURLEncoding.EncodeToString([]byte(v)),
		"json":       string(j[1 : len(j)-1]),
		"json-plain": unescaped[1 : len(unescaped)-1],
		"urlencoded": url.QueryEscape(v),
		"urlpath":    url.PathEscape(v),
	}
}

// ReaderView is what anyone who may read Jobs, pods, ConfigMaps and events of a namespace
// sees, as JSON text by place. The pods' status is left out: on failure it holds the tail
// of the runner's own log (its termination message), which is as readable as the log.
type ReaderView struct {
	Jobs, Pods int
	Places     []ViewPlace
}

// ViewPlace is one place of a ReaderView.
type ViewPlace struct{ Where, Text string }

// ReadersView reads the ReaderView of namespace ns.
func ReadersView(t testing.TB, c kubernetes.Interface, ns string) ReaderView {
	t.Helper()
	ctx := context.Background()
	jobs, err := c.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cms, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	events, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	asJSON := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	v := ReaderView{Jobs: len(jobs.Items), Pods: len(pods.Items)}
	v.Places = append(v.Places, ViewPlace{"the Jobs (spec, labels, annotations, status)", asJSON(jobs)})
	for _, p := range pods.Items {
		v.Places = append(v.Places, ViewPlace{"pod " + p.Name + " (spec, labels, annotations)", asJSON([]any{p.ObjectMeta, p.Spec})})
	}
	v.Places = append(v.Places, ViewPlace{"the ConfigMaps", asJSON(cms)}, ViewPlace{"the events", asJSON(events)})
	return v
}
