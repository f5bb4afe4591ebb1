#!/bin/sh
# A Container Driver runner in plain POSIX shell: the whole contract and nothing else.
#
#   ACTION               create, destroy, or plan (only when the run has a plan block)
#   SCRIPTS_DIRECTORY    the shared directory: files and the git checkout are here
#   RESOURCE_INPUTS_FILE the run's inputs, a JSON object (read-only)
#   OUTPUTS_FILE         write a JSON object of outputs here
#   SECRET_OUTPUTS_FILE  write a JSON object of sensitive outputs here
#   ERROR_FILE           on failure write a message here, then exit non-zero
#   CONTAINERDRIVER_RUN_ID  the same for the create, updates and destroy of one resource
#   STATE_PATH           with the run's state_path: a directory kept between runs
#
# The plan action (ACTION=plan) changes nothing and says what a create would do, or with
# PLAN_DESTROY=true what a destroy would do:
#
#   PLAN_FILE            write the human-readable plan here
#   PLAN_SUMMARY_FILE    write {"add": n, "change": n, "destroy": n, "has_changes": bool}
#   PLAN_ARTIFACT_DIR    an empty directory: leave here what the create should apply
#   PLAN_APPLY           "true" in a create handed that artifact (in PLAN_ARTIFACT_DIR):
#                        apply exactly it, or fail; never plan anew
#
# Inputs this example understands: "name" (a string) and "fail" (a message: the run fails
# with it). It greets the name, returns a token derived from the run id as a secret output,
# and shows on stdout (the container log) what it does. With a state_path it remembers the
# greeting it gave, so that a plan can tell what would change; without one it cannot, and a
# plan counts every create as one to add.
set -eu

# Any failure, including one of set -e, leaves a message in ERROR_FILE: without it the
# driver could only report an exit code.
required="ACTION SCRIPTS_DIRECTORY RESOURCE_INPUTS_FILE ERROR_FILE OUTPUTS_FILE SECRET_OUTPUTS_FILE"
[ "${ACTION:-}" != plan ] || required="ACTION SCRIPTS_DIRECTORY RESOURCE_INPUTS_FILE ERROR_FILE PLAN_FILE PLAN_SUMMARY_FILE"
for v in $required; do
	eval "value=\${$v:-}"
	[ -n "$value" ] || { echo "runner.sh: $v is not set: run me as a Container Driver runner" >&2; exit 2; }
done
run_id=${CONTAINERDRIVER_RUN_ID:-}

step="starting"
on_exit() {
	code=$?
	if [ "$code" -ne 0 ] && [ ! -s "$ERROR_FILE" ]; then
		printf 'runner.sh failed while %s (exit code %s)\n' "$step" "$code" >"$ERROR_FILE"
	fi
}
trap on_exit EXIT

fail() {
	printf '%s\n' "$1" >"$ERROR_FILE"
	printf 'error: %s\n' "$1" >&2
	exit "${2:-1}"
}

# json_string prints its argument as a JSON string.
json_string() {
	printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g' -e ':a' -e 'N' -e '$!ba' -e 's/\n/\\n/g' |
		{ printf '"'; cat; printf '"'; }
}

# input_string prints the string value of a top-level key of the inputs. The driver writes
# the inputs as compact JSON on one line; this reads flat strings without escaped quotes.
# An image that needs more ships jq.
input_string() {
	sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"\([^"\\]*\)".*/\1/p' "$RESOURCE_INPUTS_FILE"
}

echo "runner.sh: ACTION=$ACTION SCRIPTS_DIRECTORY=$SCRIPTS_DIRECTORY run ${run_id:-?}"
cd "$SCRIPTS_DIRECTORY"

step="reading the inputs"
[ -r "$RESOURCE_INPUTS_FILE" ] || fail "cannot read RESOURCE_INPUTS_FILE $RESOURCE_INPUTS_FILE"
message=$(input_string fail)
[ -z "$message" ] || fail "$message" 3
name=$(input_string name)
[ -n "$name" ] || name="world"
greeting="hello $name"

# What the last create did, when the run keeps a state directory. Every action reads it;
# only create and destroy change it, a plan never does.
state_file=""
[ -z "${STATE_PATH:-}" ] || state_file="$STATE_PATH/greeting"
last=""
if [ -n "$state_file" ] && [ -r "$state_file" ]; then
	last=$(cat "$state_file")
fi

case "$ACTION" in
create)
	if [ "${PLAN_APPLY:-false}" = true ]; then
		# Apply what the preview saved, as it is: when it does not fit any more, fail and
		# let the user plan again; planning anew here would apply what nobody saw.
		step="applying the saved plan"
		artifact=${PLAN_ARTIFACT_DIR:-}
		if [ -z "$artifact" ] || [ ! -r "$artifact/greeting" ]; then
			fail "PLAN_APPLY=true but PLAN_ARTIFACT_DIR holds no saved plan: plan again"
		fi
		planned_against=$(cat "$artifact/planned-against")
		[ "$planned_against" = "$last" ] ||
			fail "the saved plan is stale: it was made when the greeting was '$planned_against', it is '$last' now: plan again"
		greeting=$(cat "$artifact/greeting")
		echo "runner.sh: applying the saved plan"
	fi
	step="creating"
	# Real work goes here: call an API, run a CLI. Keep what destroy needs somewhere that
	# outlives the pod (the cluster, a bucket, the state_path), keyed by CONTAINERDRIVER_RUN_ID.
	token=$(printf '%s/%s' "$run_id" "$name" | sha256sum | cut -c1-32)
	echo "runner.sh: $greeting"
	[ -z "$state_file" ] || printf '%s\n' "$greeting" >"$state_file"
	step="writing the outputs"
	printf '{"greeting": %s, "action": "create", "files": %s}\n' \
		"$(json_string "$greeting")" "$(json_string "$(ls -A | tr '\n' ' ' | sed 's/ $//')")" >"$OUTPUTS_FILE"
	# Never echo a secret to stdout: the log is not secret.
	printf '{"token": %s}\n' "$(json_string "$token")" >"$SECRET_OUTPUTS_FILE"
	;;
destroy)
	step="destroying"
	echo "runner.sh: nothing to tear down for $name"
	[ -z "$state_file" ] || rm -f "$state_file"
	printf '{}\n' >"$OUTPUTS_FILE"
	printf '{}\n' >"$SECRET_OUTPUTS_FILE"
	;;
plan)
	# Read, compare, write the plan files: change nothing (no state, no outputs).
	step="planning"
	add=0 change=0 destroy=0
	if [ "${PLAN_DESTROY:-false}" = true ]; then
		if [ -n "$last" ]; then
			text="- greeting '$last' will be removed"
			destroy=1
		else
			text="No changes: nothing to tear down."
		fi
	else
		if [ -z "$last" ]; then
			text="+ greeting '$greeting' will be given"
			add=1
		elif [ "$last" = "$greeting" ]; then
			text="No changes: the greeting is '$greeting' already."
		else
			text="~ greeting '$last' -> '$greeting' will be changed"
			change=1
		fi
		# The artifact: what the create will do, and what it was planned against, so that
		# the create can refuse it once it no longer fits. A destroy applies none.
		if [ -n "${PLAN_ARTIFACT_DIR:-}" ]; then
			printf '%s\n' "$greeting" >"$PLAN_ARTIFACT_DIR/greeting"
			printf '%s\n' "$last" >"$PLAN_ARTIFACT_DIR/planned-against"
		fi
	fi
	has_changes=false
	[ $((add + change + destroy)) -eq 0 ] || has_changes=true
	printf '%s\n' "$text" >"$PLAN_FILE"
	printf '{"add": %d, "change": %d, "destroy": %d, "has_changes": %s}\n' \
		"$add" "$change" "$destroy" "$has_changes" >"$PLAN_SUMMARY_FILE"
	echo "runner.sh: plan: $text"
	;;
*)
	fail "unknown ACTION '$ACTION': expected create, destroy or plan" 2
	;;
esac
echo "runner.sh: $ACTION done"
