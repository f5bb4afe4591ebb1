// Command testrunner is the runner image of the project's cluster tests: a program that
// follows the Container Driver contract and does what its inputs ask, so each test states
// its scenario in the inputs instead of building an image of its own.
//
// Inputs (RESOURCE_INPUTS_FILE, all optional):
//
//	outputs, secret_outputs   objects written to OUTPUTS_FILE / SECRET_OUTPUTS_FILE
//	echo_env                  names of environment variables copied to outputs as "env_<NAME>"
//	echo_files                paths whose content is copied to outputs as "file_<path>"
//	raw_outputs               a string written verbatim to OUTPUTS_FILE (invalid JSON tests)
//	big_output_bytes          adds an output "big" of that many bytes
//	print                     lines printed to stdout
//	fail                      a message written to ERROR_FILE, then exit with exit_code (default 3)
//	fail_on                   the action that fails ("create" or "destroy"; default both)
//	sleep_seconds             sleep before finishing
//
// The outputs always hold "action", "inputs" (the inputs as read) and "uid".
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type inputs struct {
	Outputs        map[string]any `json:"outputs"`
	SecretOutputs  map[string]any `json:"secret_outputs"`
	EchoEnv        []string       `json:"echo_env"`
	EchoFiles      []string       `json:"echo_files"`
	RawOutputs     *string        `json:"raw_outputs"`
	BigOutputBytes int            `json:"big_output_bytes"`
	Print          []string       `json:"print"`
	Fail           string         `json:"fail"`
	FailOn         string         `json:"fail_on"`
	ExitCode       int            `json:"exit_code"`
	SleepSeconds   float64        `json:"sleep_seconds"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testrunner:", err)
		_ = os.WriteFile(os.Getenv("ERROR_FILE"), []byte(err.Error()), 0o644)
		os.Exit(1)
	}
}

func run() error {
	action := os.Getenv("ACTION")
	fmt.Printf("testrunner: ACTION=%s SCRIPTS_DIRECTORY=%s\n", action, os.Getenv("SCRIPTS_DIRECTORY"))
	raw, err := os.ReadFile(os.Getenv("RESOURCE_INPUTS_FILE"))
	if err != nil {
		return fmt.Errorf("read inputs: %w", err)
	}
	var in inputs
	if err := json.Unmarshal(raw, &in); err != nil {
		return fmt.Errorf("parse inputs: %w", err)
	}
	var anyIn any
	_ = json.Unmarshal(raw, &anyIn)
	for _, l := range in.Print {
		fmt.Println(l)
	}
	if in.SleepSeconds > 0 {
		time.Sleep(time.Duration(in.SleepSeconds * float64(time.Second)))
	}
	out := map[string]any{"action": action, "inputs": anyIn, "uid": fmt.Sprint(os.Getuid())}
	for k, v := range in.Outputs {
		out[k] = v
	}
	for _, n := range in.EchoEnv {
		out["env_"+n] = os.Getenv(n)
	}
	for _, p := range in.EchoFiles {
		if !filepath.IsAbs(p) {
			p = filepath.Join(os.Getenv("SCRIPTS_DIRECTORY"), p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			out["file_"+p] = "ERROR: " + err.Error()
			continue
		}
		out["file_"+p] = string(b)
	}
	if in.BigOutputBytes > 0 {
		out["big"] = strings.Repeat("x", in.BigOutputBytes)
	}
	if in.Fail != "" && (in.FailOn == "" || in.FailOn == action) {
		fmt.Fprintln(os.Stderr, "testrunner: failing as asked")
		if err := os.WriteFile(os.Getenv("ERROR_FILE"), []byte(in.Fail), 0o644); err != nil {
			return err
		}
		code := in.ExitCode
		if code == 0 {
			code = 3
		}
		os.Exit(code)
	}
	if in.RawOutputs != nil {
		if err := os.WriteFile(os.Getenv("OUTPUTS_FILE"), []byte(*in.RawOutputs), 0o644); err != nil {
			return err
		}
	} else if err := writeJSON(os.Getenv("OUTPUTS_FILE"), out); err != nil {
		return err
	}
	if in.SecretOutputs != nil {
		if err := writeJSON(os.Getenv("SECRET_OUTPUTS_FILE"), in.SecretOutputs); err != nil {
			return err
		}
	}
	fmt.Println("testrunner: done")
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
