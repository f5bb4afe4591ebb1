package kube

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// Each call is the request client-go's clientset makes, and the answer decodes into the
// typed object.
func TestClient_Requests(t *testing.T) {
	var (
		mu  sync.Mutex
		got []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/v1/namespaces/ns/secrets" && r.Method == http.MethodGet:
			_, _ = w.Write([]byte(`{"kind":"SecretList","apiVersion":"v1","items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]}`))
		case r.URL.Path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
			var in authorizationv1.SelfSubjectAccessReview
			if err := json.Unmarshal(body, &in); err != nil || in.Spec.ResourceAttributes.Verb != "create" {
				t.Errorf("review body %s: %v", body, err)
			}
			_, _ = w.Write([]byte(`{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","status":{"allowed":true}}`))
		case r.Method == http.MethodDelete:
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Success"}`))
		case r.URL.Path == "/api/v1/namespaces/ns/configmaps/missing":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`))
		default: // create, update and get echo a ConfigMap
			_, _ = w.Write([]byte(`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"out","namespace":"ns","resourceVersion":"7"},"data":{"k":"v"}}`))
		}
	}))
	defer srv.Close()
	c, err := New(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "out", Namespace: "ns"}, Data: map[string]string{"k": "v"}}
	created, err := c.ConfigMaps("ns").Create(ctx, cm, metav1.CreateOptions{})
	if err != nil || created.ResourceVersion != "7" || created.Data["k"] != "v" {
		t.Fatalf("create: %+v, %v", created, err)
	}
	if _, err := c.ConfigMaps("ns").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update: %v", err)
	}
	if _, err := c.ConfigMaps("ns").Get(ctx, "missing", metav1.GetOptions{}); err == nil || !apierrors.IsNotFound(err) {
		t.Fatalf("get of a missing ConfigMap: %v, want NotFound", err)
	}
	list, err := c.Secrets("ns").List(ctx, metav1.ListOptions{LabelSelector: "a=b"})
	if err != nil || len(list.Items) != 2 || list.Items[1].Name != "b" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if err := c.Secrets("ns").Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	r, err := c.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "ns", Verb: "create", Resource: "secrets"},
	}}, metav1.CreateOptions{})
	if err != nil || !r.Status.Allowed {
		t.Fatalf("review: %+v, %v", r, err)
	}
	want := []string{
		"POST /api/v1/namespaces/ns/configmaps",
		"PUT /api/v1/namespaces/ns/configmaps/out",
		"GET /api/v1/namespaces/ns/configmaps/missing",
		"GET /api/v1/namespaces/ns/secrets?labelSelector=a%3Db",
		"DELETE /api/v1/namespaces/ns/secrets/a",
		"POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
