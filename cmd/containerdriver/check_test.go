package main

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func newTestChecker() *checker {
	return &checker{o: &checkOptions{}, results: map[string]*checkResult{}, log: newLogCollector()}
}

func TestWriteResults(t *testing.T) {
	var buf bytes.Buffer
	writeResults(&buf, []*checkResult{
		{ID: checkCreate, Title: "create succeeds", Status: statusPass, Summary: "succeeded in 1s"},
		{ID: checkNoSecretInLog, Title: "no secret", Status: statusFail, Summary: "1 line", Evidence: []string{"[create #1] X=(sensitive value)"}},
	})
	want := "PASS create                   create succeeds: succeeded in 1s\n" +
		"FAIL no-secret-in-log         no secret: 1 line\n" +
		"       [create #1] X=(sensitive value)\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
