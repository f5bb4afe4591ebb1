// Package kube is the sidecars' Kubernetes client: typed clients for just the APIs they
// call (ConfigMaps, Secrets, SelfSubjectAccessReviews, SelfSubjectReviews) on client-go's
// REST client, written as client-go's generated typed clients are.
//
// The sidecars do not import the clientset (k8s.io/client-go/kubernetes or any of its
// typed packages): its scheme registers every API group of Kubernetes, which made each
// sidecar binary 45 MB. The interfaces here are subsets of the clientset's, so a client-go
// clientset (a fake one in tests, see kubetest) satisfies them too. (client-go's gentype
// package, which the typed clients use, links server-side apply and OpenAPI: 3 MB more.)
package kube

import (
	"context"
	"fmt"
	"net/http"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"
)

// Objects is the part of a typed client of one resource (client-go's ConfigMapInterface,
// SecretInterface...) the sidecars call.
type Objects[T, L any] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// Creator is a client of a create-only resource (the access reviews).
type Creator[T any] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
}

// ConfigMaps and Secrets of one namespace.
type (
	ConfigMaps = Objects[*corev1.ConfigMap, *corev1.ConfigMapList]
	Secrets    = Objects[*corev1.Secret, *corev1.SecretList]
)

// Client is what the sidecars ask of the API server.
type Client interface {
	ConfigMaps(namespace string) ConfigMaps
	Secrets(namespace string) Secrets
	SelfSubjectAccessReviews() Creator[*authorizationv1.SelfSubjectAccessReview]
	SelfSubjectReviews() Creator[*authenticationv1.SelfSubjectReview]
}

// scheme knows the kinds above and the option types of requests, nothing else.
var (
	scheme         = runtime.NewScheme()
	codecs         = serializer.NewCodecFactory(scheme)
	parameterCodec = runtime.NewParameterCodec(scheme)
)

func init() {
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	utilruntime.Must(corev1.AddToScheme(scheme))
	utilruntime.Must(authorizationv1.AddToScheme(scheme))
	utilruntime.Must(authenticationv1.AddToScheme(scheme))
}

// InCluster is a Client with the pod's service account (rest.InClusterConfig); every
// request is bounded by timeout.
func InCluster(userAgent string, timeout time.Duration) (Client, error) {
	rc, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("load in-cluster configuration: %w", err)
	}
	rc.UserAgent = userAgent
	rc.Timeout = timeout
	return New(rc)
}

// New is a Client for the API server rc names.
func New(rc *rest.Config) (Client, error) {
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return nil, fmt.Errorf("create kubernetes client: %w", err)
	}
	c := &client{}
	for _, g := range []struct {
		into *rest.Interface
		path string
		gv   schema.GroupVersion
	}{
		{&c.core, "/api", corev1.SchemeGroupVersion},
		{&c.authorization, "/apis", authorizationv1.SchemeGroupVersion},
		{&c.authentication, "/apis", authenticationv1.SchemeGroupVersion},
	} {
		*g.into, err = restClient(rc, hc, g.path, g.gv)
		if err != nil {
			return nil, fmt.Errorf("create kubernetes client: %w", err)
		}
	}
	return c, nil
}

func restClient(rc *rest.Config, hc *http.Client, apiPath string, gv schema.GroupVersion) (rest.Interface, error) {
	cfg := rest.CopyConfig(rc)
	cfg.APIPath = apiPath
	cfg.GroupVersion = &gv
	cfg.NegotiatedSerializer = codecs.WithoutConversion()
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	return rest.RESTClientForConfigAndClient(cfg, hc)
}

type client struct {
	core, authorization, authentication rest.Interface
}

func (c *client) ConfigMaps(namespace string) ConfigMaps {
	return objects[*corev1.ConfigMap, *corev1.ConfigMapList]{c: c.core, resource: "configmaps", namespace: namespace,
		newObj:  func() *corev1.ConfigMap { return &corev1.ConfigMap{} },
		newList: func() *corev1.ConfigMapList { return &corev1.ConfigMapList{} }}
}

func (c *client) Secrets(namespace string) Secrets {
	return objects[*corev1.Secret, *corev1.SecretList]{c: c.core, resource: "secrets", namespace: namespace,
		newObj:  func() *corev1.Secret { return &corev1.Secret{} },
		newList: func() *corev1.SecretList { return &corev1.SecretList{} }}
}

func (c *client) SelfSubjectAccessReviews() Creator[*authorizationv1.SelfSubjectAccessReview] {
	return objects[*authorizationv1.SelfSubjectAccessReview, runtime.Object]{c: c.authorization, resource: "selfsubjectaccessreviews",
		newObj: func() *authorizationv1.SelfSubjectAccessReview { return &authorizationv1.SelfSubjectAccessReview{} }}
}

func (c *client) SelfSubjectReviews() Creator[*authenticationv1.SelfSubjectReview] {
	return objects[*authenticationv1.SelfSubjectReview, runtime.Object]{c: c.authentication, resource: "selfsubjectreviews",
		newObj: func() *authenticationv1.SelfSubjectReview { return &authenticationv1.SelfSubjectReview{} }}
}

// objects is a typed client of one resource in one namespace ("" for cluster-scoped ones).
type objects[T, L runtime.Object] struct {
	c         rest.Interface
	resource  string
	namespace string
	newObj    func() T
	newList   func() L
}

// on points r at the resource (in the namespace, unless cluster-scoped).
func (o objects[T, L]) on(r *rest.Request) *rest.Request {
	return r.NamespaceIfScoped(o.namespace, o.namespace != "").Resource(o.resource)
}

func (o objects[T, L]) Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error) {
	r := o.newObj()
	err := o.on(o.c.Get()).Name(name).VersionedParams(&opts, parameterCodec).Do(ctx).Into(r)
	return r, err
}

func (o objects[T, L]) List(ctx context.Context, opts metav1.ListOptions) (L, error) {
	r := o.newList()
	err := o.on(o.c.Get()).VersionedParams(&opts, parameterCodec).Do(ctx).Into(r)
	return r, err
}

func (o objects[T, L]) Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error) {
	r := o.newObj()
	err := o.on(o.c.Post()).VersionedParams(&opts, parameterCodec).Body(obj).Do(ctx).Into(r)
	return r, err
}

func (o objects[T, L]) Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error) {
	r := o.newObj()
	m, err := meta.Accessor(obj)
	if err != nil {
		return r, err
	}
	err = o.on(o.c.Put()).Name(m.GetName()).VersionedParams(&opts, parameterCodec).Body(obj).Do(ctx).Into(r)
	return r, err
}

func (o objects[T, L]) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	return o.on(o.c.Delete()).Name(name).Body(&opts).Do(ctx).Error()
}
