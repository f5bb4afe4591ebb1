#!/bin/sh
# A Container Driver runner in plain POSIX shell: the whole contract and nothing else.
#
#   ACTION               create or destroy
#   SCRIPTS_DIRECTORY    the shared directory: files and the git checkout are here
#   RESOURCE_INPUTS_FILE the run's inputs, a JSON object (read-only)
#   OUTPUTS_FILE         write a JSON object of outputs here
#   SECRET_OUTPUTS_FILE  write a JSON object of sensitive outputs here
#   ERROR_FILE           on failure write a message here, then exit non-zero
#   CONTAINERDRIVER_RUN_ID  the same for the create, updates and destroy of one resource
#
# Inputs this example understands: "name" (a string) and "fail" (a message: the run fails
# with it). It greets the name, returns a token derived from the run id as a secret output,
# and shows on stdout (the container log) what it does.
set -eu

# Any failure, including one of set -e, leaves a message in ERROR_FILE: without it the
# driver could only report an exit code.
for v in ACTION SCRIPTS_DIRECTORY RESOURCE_INPUTS_FILE OUTPUTS_FILE SECRET_OUTPUTS_FILE ERROR_FILE; do
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

case "$ACTION" in
create)
	step="creating"
	# Real work goes here: call an API, run a CLI. Keep what destroy needs somewhere that
	# outlives the pod (the cluster, a bucket), keyed by CONTAINERDRIVER_RUN_ID.
	token=$(printf '%s/%s' "$run_id" "$name" | sha256sum | cut -c1-32)
	echo "runner.sh: greeting $name"
	step="writing the outputs"
	printf '{"greeting": %s, "action": "create", "files": %s}\n' \
		"$(json_string "hello $name")" "$(json_string "$(ls -A | tr '\n' ' ' | sed 's/ $//')")" >"$OUTPUTS_FILE"
	# Never echo a secret to stdout: the log is not secret.
	printf '{"token": %s}\n' "$(json_string "$token")" >"$SECRET_OUTPUTS_FILE"
	;;
destroy)
	step="destroying"
	echo "runner.sh: nothing to tear down for $name"
	printf '{}\n' >"$OUTPUTS_FILE"
	printf '{}\n' >"$SECRET_OUTPUTS_FILE"
	;;
*)
	fail "unknown ACTION '$ACTION': expected create or destroy" 2
	;;
esac
echo "runner.sh: $ACTION done"
