// Command testlint finds, in the project's tests, the patterns that make a check unable to
// fail (issue: "tests that prove what the docs promise"). It reads Go source only (go/ast),
// so it needs no build, and `make lint` runs it next to golangci-lint:
//
//   - list-error: a List call whose error is dropped (`l, _ := c.List(...)`): a failing API
//     call then reads as an empty namespace, and "nothing left behind" passes.
//   - check-after-error: a resource.TestStep with ExpectError and Check or
//     ConfigStateChecks: the test framework runs no check after a failed apply, so the
//     check never runs.
//   - bare-sleep: time.Sleep outside a loop with a condition: a fixed sleep used as
//     synchronisation (wait for the event with a deadline instead). A sleep inside a
//     polling loop that ends (for cond { ...; time.Sleep(...) }) is a wait and allowed.
//
// A line may carry `//testlint:allow RULE why` to accept one finding with a reason.
//
//	go run ./hack/testlint [dir...]   (default .)
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Finding is one match of a rule.
type Finding struct {
	Pos  token.Position
	Rule string
	Msg  string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", f.Pos.Filename, f.Pos.Line, f.Rule, f.Msg)
}

func main() {
	dirs := os.Args[1:]
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	var all []Finding
	for _, d := range dirs {
		f, err := lintTree(d)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testlint:", err)
			os.Exit(2)
		}
		all = append(all, f...)
	}
	for _, f := range all {
		fmt.Println(f)
	}
	if len(all) > 0 {
		fmt.Fprintf(os.Stderr, "testlint: %d finding(s)\n", len(all))
		os.Exit(1)
	}
}

// isTestSource tells which files hold test code: _test.go files and the test support
// package (not the programs under it, which run in pods and sleep as their behaviour).
func isTestSource(path string) bool {
	return strings.HasSuffix(path, "_test.go") || filepath.Base(filepath.Dir(path)) == "testcluster"
}

func lintTree(root string) ([]Finding, error) {
	var out []Finding
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || !isTestSource(p) {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := LintFile(p, src)
		out = append(out, f...)
		return err
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pos.Filename != out[j].Pos.Filename {
			return out[i].Pos.Filename < out[j].Pos.Filename
		}
		return out[i].Pos.Line < out[j].Pos.Line
	})
	return out, err
}

// LintFile returns the findings in one file's source.
func LintFile(name string, src []byte) ([]Finding, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	allowed := map[int]string{} // line -> allowed rules
	for _, cg := range file.Comments {
		for _, c := range cg.List {
			if rest, ok := strings.CutPrefix(c.Text, "//testlint:allow "); ok {
				allowed[fset.Position(c.Pos()).Line] += " " + strings.Fields(rest)[0] + " "
			}
		}
	}
	var out []Finding
	add := func(n ast.Node, rule, msg string) {
		pos := fset.Position(n.Pos())
		if strings.Contains(allowed[pos.Line], " "+rule+" ") {
			return
		}
		out = append(out, Finding{Pos: pos, Rule: rule, Msg: msg})
	}
	var stack []ast.Node
	ast.Inspect(file, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		switch x := n.(type) {
		case *ast.AssignStmt:
			checkDroppedListError(x, add)
		case *ast.CompositeLit:
			checkStep(x, add)
		case *ast.CallExpr:
			if isSelector(x.Fun, "time", "Sleep") && !inConditionalLoop(stack) {
				add(x, "bare-sleep", "time.Sleep used as synchronisation: wait for the event (a watch, a poll with a deadline) instead")
			}
		}
		stack = append(stack, n)
		return true
	})
	return out, nil
}

func checkDroppedListError(a *ast.AssignStmt, add func(ast.Node, string, string)) {
	if len(a.Lhs) != 2 || len(a.Rhs) != 1 {
		return
	}
	if id, ok := a.Lhs[1].(*ast.Ident); !ok || id.Name != "_" {
		return
	}
	call, ok := a.Rhs[0].(*ast.CallExpr)
	if !ok {
		return
	}
	if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "List" {
		add(a, "list-error", "the error of List is dropped: a failing API call reads as an empty list")
	}
}

func isStepType(e ast.Expr) bool {
	return isSelector(e, "resource", "TestStep") || isIdent(e, "TestStep")
}

func checkStep(cl *ast.CompositeLit, add func(ast.Node, string, string)) {
	// Steps are mostly written inside []resource.TestStep{{...}, {...}}, where the
	// elements' type is elided.
	if at, ok := cl.Type.(*ast.ArrayType); ok && isStepType(at.Elt) {
		for _, e := range cl.Elts {
			if el, ok := e.(*ast.CompositeLit); ok && el.Type == nil {
				checkStepFields(el, add)
			}
		}
		return
	}
	if isStepType(cl.Type) {
		checkStepFields(cl, add)
	}
}

func checkStepFields(cl *ast.CompositeLit, add func(ast.Node, string, string)) {
	keys := map[string]bool{}
	for _, e := range cl.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok {
				keys[id.Name] = true
			}
		}
	}
	if keys["ExpectError"] && (keys["Check"] || keys["ConfigStateChecks"]) {
		add(cl, "check-after-error", "a step with ExpectError runs no Check or ConfigStateChecks: the check cannot fail (check in the next step's PreConfig)")
	}
}

// inConditionalLoop tells whether the innermost function on the stack has a for loop with
// a condition (or a range loop) around the node.
func inConditionalLoop(stack []ast.Node) bool {
	for i := len(stack) - 1; i >= 0; i-- {
		switch s := stack[i].(type) {
		case *ast.FuncLit, *ast.FuncDecl:
			return false
		case *ast.ForStmt:
			if s.Cond != nil {
				return true
			}
		case *ast.RangeStmt:
			return true
		}
	}
	return false
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	return isIdent(sel.X, pkg)
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
