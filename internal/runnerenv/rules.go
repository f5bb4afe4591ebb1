package runnerenv

import (
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	rbacv1 "k8s.io/api/rbac/v1"
)

// StateRules are what a run with state_path needs on top of SidecarRules: state-restore
// gets and lists the state's Secrets, and outputs-fetcher, which saves the state when the
// runner ends, creates the new chunks (SidecarRules), updates the head Secret and deletes
// the chunks it replaced. The pre-checks init container asks for exactly these.
func StateRules() []rbacv1.PolicyRule { return rulesOf(contract.StatePermissions()) }

// Rules are the rules of the Role a managed service account gets, for the features in
// use: SidecarRules always (outputs-fetcher; pre-checks asks through
// SelfSubjectAccessReviews, which every identity may create), StateRules when runs keep a
// state directory (AllowStatePath), and then ExtraRules, for what the runner itself does
// with the token it gets only with mount_service_account_token.
func (e Env) Rules() []rbacv1.PolicyRule {
	rules := SidecarRules()
	if e.AllowStatePath {
		rules = append(rules, StateRules()...)
	}
	return append(rules, e.ExtraRules...)
}

// SidecarRules are exactly the permissions a run's pod needs (contract.SidecarPermissions,
// which pre-checks checks): one rule per verb, on the core API group.
func SidecarRules() []rbacv1.PolicyRule { return rulesOf(contract.SidecarPermissions()) }

// rulesOf turns permissions into rules: consecutive ones of one verb share a rule, as do
// consecutive ones on one resource.
func rulesOf(perms []contract.Permission) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, p := range perms {
		if n := len(rules); n > 0 {
			last := &rules[n-1]
			switch {
			case len(last.Verbs) == 1 && last.Verbs[0] == p.Verb:
				last.Resources = append(last.Resources, p.Resource)
				continue
			case len(last.Resources) == 1 && last.Resources[0] == p.Resource:
				last.Verbs = append(last.Verbs, p.Verb)
				continue
			}
		}
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{p.Resource}, Verbs: []string{p.Verb}})
	}
	return rules
}
