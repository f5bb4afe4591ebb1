package main

import (
	"strings"
	"testing"
)

func TestLintFile(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // rules found, in order
	}{
		{"dropped List error", `package p
func f() { l, _ := c.CoreV1().Pods("ns").List(ctx, o); _ = l }`, []string{"list-error"}},
		{"dropped List error in an if", `package p
func f() { if l, _ := c.List(ctx, o); len(l.Items) != 0 {} }`, []string{"list-error"}},
		{"List error checked", `package p
func f() { l, err := c.List(ctx, o); _, _ = l, err }`, nil},
		{"Get error dropped is not this rule", `package p
func f() { l, _ := c.Get(ctx, n, o); _ = l }`, nil},
		{"Check on a failing step", `package p
var s = resource.TestStep{Config: "x", ExpectError: re, Check: f}`, []string{"check-after-error"}},
		{"state checks on a failing step", `package p
var s = []resource.TestStep{{Config: "x"}, {Config: "x", ExpectError: re, ConfigStateChecks: c}}`, []string{"check-after-error"}},
		{"Check on a passing step", `package p
var s = resource.TestStep{Config: "x", Check: f}`, nil},
		{"bare sleep", `package p
func f() { start(); time.Sleep(3 * time.Second); kill() }`, []string{"bare-sleep"}},
		{"sleep in a goroutine", `package p
func f() { go func() { time.Sleep(time.Second); kill() }() }`, []string{"bare-sleep"}},
		{"sleep in an endless loop", `package p
func f() { for { if done() { return }; time.Sleep(time.Second) } }`, []string{"bare-sleep"}},
		{"sleep in a polling loop", `package p
func f() { for time.Now().Before(d) { time.Sleep(time.Second) } }`, nil},
		{"sleep in a bounded loop", `package p
func f() { for range 10 { time.Sleep(time.Second) } }`, nil},
		{"allowed with a reason", `package p
func f() {
	time.Sleep(time.Second) //testlint:allow bare-sleep the runner must be mid-write
}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LintFile("x_test.go", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			var rules []string
			for _, f := range got {
				rules = append(rules, f.Rule)
			}
			if strings.Join(rules, ",") != strings.Join(tc.want, ",") {
				t.Errorf("rules %v, want %v (%v)", rules, tc.want, got)
			}
		})
	}
}
