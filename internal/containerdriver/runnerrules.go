package containerdriver

import rbacv1 "k8s.io/api/rbac/v1"

// StateRules are what a run with state_path needs on top of SidecarRules: state-restore
// gets and lists the state's Secrets, and outputs-fetcher, which saves the state when the
// runner ends, creates the new chunks (SidecarRules), updates the head Secret and deletes
// the chunks it replaced. The pre-checks init container asks for exactly these.
func StateRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{{
		APIGroups: []string{""},
		Resources: []string{"secrets"},
		Verbs:     []string{"get", "list", "update", "delete"},
	}}
}

// Rules are the rules of the Role a managed service account gets, for the features in
// use: SidecarRules always (outputs-fetcher; pre-checks asks through
// SelfSubjectAccessReviews, which every identity may create), StateRules when runs keep a
// state directory (AllowStatePath), and then ExtraRules, for what the runner itself does
// with the token it gets only with mount_service_account_token.
func (e RunnerEnv) Rules() []rbacv1.PolicyRule {
	rules := SidecarRules()
	if e.AllowStatePath {
		rules = append(rules, StateRules()...)
	}
	return append(rules, e.ExtraRules...)
}
