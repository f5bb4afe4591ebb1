package prechecks

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/apiretry"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/startup"
)

const (
	// checkTimeout bounds the checks, retries included.
	checkTimeout   = 30 * time.Second
	requestTimeout = 5 * time.Second
)

// config is what pre-checks needs to know, from its environment.
type config struct {
	Namespace      string
	ServiceAccount string // may be empty: then asked of the API server
	ErrorFile      string
	// TerminationLog is where the message also goes, for kubectl describe and the executor.
	TerminationLog string
	CheckTimeout   time.Duration
	FirstBackoff   time.Duration
	// KeepsState is set when the run has a state directory (STATE_PATH): restoring and
	// replacing it needs more than the specification's permissions.
	KeepsState bool
}

// configFromEnv reads the environment. The namespace defaults to the service account's.
func configFromEnv(getenv func(string) string) config {
	cfg := config{
		Namespace:      getenv(contract.EnvPodNamespace),
		ServiceAccount: getenv(contract.EnvServiceAccount),
		ErrorFile:      contract.Env(getenv).File(contract.EnvErrorFile, contract.ErrorFile),
		KeepsState:     getenv(contract.EnvStatePath) != "",
		TerminationLog: contract.TerminationLogPath,
		CheckTimeout:   checkTimeout,
		FirstBackoff:   apiretry.FirstPause,
	}
	if cfg.Namespace == "" {
		if b, err := os.ReadFile(contract.APIAccessNamespaceFile); err == nil {
			cfg.Namespace = strings.TrimSpace(string(b))
		}
	}
	return cfg
}

// run checks the permissions; on a denial or a failure to check, it writes the message to
// ERROR_FILE and the termination log and returns it.
func run(ctx context.Context, cfg config, client kube.Client, logw io.Writer) error {
	logger := log.New(logw, contract.ContainerPreChecks+": ", 0)
	err := check(ctx, cfg, client, logger)
	if err != nil {
		report(cfg, err)
		return err
	}
	logger.Printf("%s may create configmaps and secrets in namespace %q", who(cfg.ServiceAccount), cfg.Namespace)
	return nil
}

func check(ctx context.Context, cfg config, client kube.Client, logger *log.Logger) error {
	if cfg.Namespace == "" {
		return fmt.Errorf("%s is not set and %s is not readable: cannot tell which namespace to check", contract.EnvPodNamespace, contract.APIAccessNamespaceFile)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.CheckTimeout)
	defer cancel()
	if cfg.ServiceAccount == "" {
		cfg.ServiceAccount = selfServiceAccount(ctx, client)
	}
	var denied []contract.Permission
	var reasons []string
	perms := contract.SidecarPermissions()
	if cfg.KeepsState {
		perms = append(perms, contract.StatePermissions()...)
	}
	for _, p := range perms {
		var st authorizationv1.SubjectAccessReviewStatus
		err := retry(ctx, cfg.FirstBackoff, logger, func(ctx context.Context) error {
			r, err := client.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
				Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: cfg.Namespace, Verb: p.Verb, Group: "", Resource: p.Resource,
				}},
			}, metav1.CreateOptions{})
			if err == nil {
				st = r.Status
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("could not check whether %s may %s %s in namespace %q: %w",
				who(cfg.ServiceAccount), p.Verb, p.Resource, cfg.Namespace, err)
		}
		if !st.Allowed || st.Denied {
			denied = append(denied, p)
			for _, r := range []string{st.Reason, st.EvaluationError} {
				if r != "" {
					reasons = append(reasons, r)
				}
			}
		}
	}
	if len(denied) == 0 {
		return nil
	}
	return &deniedError{serviceAccount: cfg.ServiceAccount, namespace: cfg.Namespace, denied: denied, reasons: reasons}
}

// deniedError says which permissions are missing and how to grant them.
type deniedError struct {
	serviceAccount, namespace string
	denied                    []contract.Permission
	reasons                   []string
}

func (e *deniedError) Error() string {
	var what []string
	// One rule per set of verbs, resources that lack the same verbs sharing it.
	verbsOf := map[string][]string{}
	var resourceOrder []string
	state := false
	for _, p := range e.denied {
		what = append(what, p.Verb+" "+p.Resource)
		if _, seen := verbsOf[p.Resource]; !seen {
			resourceOrder = append(resourceOrder, p.Resource)
		}
		verbsOf[p.Resource] = append(verbsOf[p.Resource], `"`+p.Verb+`"`)
		state = state || p.Verb != "create"
	}
	var ruleOrder []string
	resourcesOf := map[string][]string{}
	for _, r := range resourceOrder {
		v := strings.Join(verbsOf[r], ", ")
		if _, seen := resourcesOf[v]; !seen {
			ruleOrder = append(ruleOrder, v)
		}
		resourcesOf[v] = append(resourcesOf[v], `"`+r+`"`)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s may not %s in namespace %q. ", who(e.serviceAccount), strings.Join(what, " or "), e.namespace)
	if state {
		b.WriteString("outputs-fetcher and state-restore need this to store the run's outputs and keep its state directory, so the runner was not started. ")
	} else {
		b.WriteString("outputs-fetcher needs this to store the run's outputs, so the runner was not started. ")
	}
	if len(e.reasons) > 0 {
		fmt.Fprintf(&b, "The authorizer said: %s. ", strings.Join(e.reasons, "; "))
	}
	subject := "the service account"
	if e.serviceAccount != "" {
		subject = "service account " + e.serviceAccount
	}
	rules := "this rule"
	if len(ruleOrder) > 1 {
		rules = "these rules"
	}
	fmt.Fprintf(&b, "Fix: add %s to a Role in namespace %q that a RoleBinding grants to %s:", rules, e.namespace, subject)
	for _, v := range ruleOrder {
		fmt.Fprintf(&b, "\n- apiGroups: [\"\"]\n  resources: [%s]\n  verbs: [%s]", strings.Join(resourcesOf[v], ", "), v)
	}
	return b.String()
}

func who(sa string) string {
	if sa == "" {
		return "the pod's service account"
	}
	return fmt.Sprintf("service account %q", sa)
}

// selfServiceAccount asks the API server who we are, for the message; empty if unknown.
func selfServiceAccount(ctx context.Context, client kube.Client) string {
	r, err := client.SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return ""
	}
	// A service account's user name is system:serviceaccount:<namespace>:<name>.
	parts := strings.Split(r.Status.UserInfo.Username, ":")
	if len(parts) != 4 || parts[0] != "system" || parts[1] != "serviceaccount" {
		return ""
	}
	return parts[3]
}

// report writes msg where the executor and kubectl look: ERROR_FILE and the termination log.
func report(cfg config, err error) {
	startup.WriteMessage(contract.ContainerPreChecks, err, cfg.ErrorFile, cfg.TerminationLog) // best effort: it is also printed
}

func retry(ctx context.Context, backoff time.Duration, logger *log.Logger, f func(context.Context) error) error {
	return apiretry.Do(ctx, backoff, apiretry.MaxPause, func(attempt int, err error) {
		logger.Printf("attempt %d failed, retrying: %v", attempt, err)
	}, f)
}
