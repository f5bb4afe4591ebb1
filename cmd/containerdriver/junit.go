package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// The JUnit XML schema CI systems read (Jenkins, GitLab, GitHub test reporters): one
// testsuite, one testcase per check. FAIL is a <failure>, SKIP a <skipped>, and WARN a
// passing case whose <system-out> starts with "WARN:" (JUnit has no warnings).
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// writeJUnit writes results as a JUnit XML report of the suite "containerdriver check
// <image>"; each case is named "<check id>: <title>".
func writeJUnit(w io.Writer, image string, results []*checkResult, total time.Duration) error {
	suite := junitSuite{Name: "containerdriver check " + image, Tests: len(results), Time: seconds(total)}
	for _, r := range results {
		c := junitCase{Name: r.ID + ": " + r.Title, Classname: "containerdriver.check", Time: seconds(r.Duration)}
		body := strings.Join(r.Evidence, "\n")
		switch r.Status {
		case statusFail:
			suite.Failures++
			c.Failure = &junitMessage{Message: r.Summary, Type: string(statusFail), Text: body}
		case statusSkip:
			suite.Skipped++
			c.Skipped = &junitMessage{Message: r.Summary}
		case statusWarn:
			c.SystemOut = strings.TrimRight("WARN: "+r.Summary+"\n"+body, "\n")
		default:
			c.SystemOut = strings.TrimRight("PASS: "+r.Summary+"\n"+body, "\n")
		}
		suite.Cases = append(suite.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{suite}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func writeJUnitFile(file, image string, results []*checkResult, total time.Duration) error {
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	if err := writeJUnit(f, image, results, total); err != nil {
		f.Close()
		return fmt.Errorf("--junit %s: %w", file, err)
	}
	return f.Close()
}
