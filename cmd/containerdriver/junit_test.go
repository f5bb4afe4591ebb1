package main

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriteJUnit(t *testing.T) {
	results := []*checkResult{
		{ID: "create", Title: "create succeeds", Status: statusPass, Summary: "succeeded in 3s", Duration: 3 * time.Second},
		{ID: "no-secret-in-log", Title: "no secret", Status: statusFail, Summary: "1 lines show a secret value",
			Evidence: []string{"[create #1] TOKEN=(sensitive value)", `<&"]]>`}},
		{ID: "update-converges", Title: "update", Status: statusWarn, Summary: "not checked: give --update-inputs"},
		{ID: "create-after-destroy", Title: "recreate", Status: statusSkip, Summary: "the destroy did not succeed"},
	}
	var buf bytes.Buffer
	if err := writeJUnit(&buf, "example.com/r:1", results, 61500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), xml.Header) {
		t.Errorf("no XML header:\n%s", buf.String())
	}
	var got junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("the report is not XML: %v\n%s", err, buf.String())
	}
	want := junitSuites{
		XMLName: xml.Name{Local: "testsuites"},
		Suites: []junitSuite{{
			Name: "containerdriver check example.com/r:1", Tests: 4, Failures: 1, Skipped: 1, Time: "61.500",
			Cases: []junitCase{
				{Name: "create: create succeeds", Classname: "containerdriver.check", Time: "3.000", SystemOut: "PASS: succeeded in 3s"},
				{Name: "no-secret-in-log: no secret", Classname: "containerdriver.check", Time: "0.000",
					Failure: &junitMessage{Message: "1 lines show a secret value", Type: "FAIL", Text: "[create #1] TOKEN=(sensitive value)\n<&\"]]>"}},
				{Name: "update-converges: update", Classname: "containerdriver.check", Time: "0.000", SystemOut: "WARN: not checked: give --update-inputs"},
				{Name: "create-after-destroy: recreate", Classname: "containerdriver.check", Time: "0.000",
					Skipped: &junitMessage{Message: "the destroy did not succeed"}},
			},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report read back (-want +got):\n%s\n%s", diff, buf.String())
	}
}
