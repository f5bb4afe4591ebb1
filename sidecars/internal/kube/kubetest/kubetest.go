// Package kubetest adapts a client-go clientset, such as the fake one of
// k8s.io/client-go/kubernetes/fake, to kube.Client for the sidecars' tests. Only tests
// import it: it links the whole clientset.
package kubetest

import (
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube"
)

// Client is c as a kube.Client.
func Client(c kubernetes.Interface) kube.Client { return clientset{c} }

type clientset struct{ c kubernetes.Interface }

func (a clientset) ConfigMaps(ns string) kube.ConfigMaps { return a.c.CoreV1().ConfigMaps(ns) }
func (a clientset) Secrets(ns string) kube.Secrets       { return a.c.CoreV1().Secrets(ns) }

func (a clientset) SelfSubjectAccessReviews() kube.Creator[*authorizationv1.SelfSubjectAccessReview] {
	return a.c.AuthorizationV1().SelfSubjectAccessReviews()
}

func (a clientset) SelfSubjectReviews() kube.Creator[*authenticationv1.SelfSubjectReview] {
	return a.c.AuthenticationV1().SelfSubjectReviews()
}
