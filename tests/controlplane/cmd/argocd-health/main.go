// Command argocd-health runs an Argo CD resource health script (Lua) on
// Kubernetes objects the way Argo CD runs a custom health check from argocd-cm:
// gopher-lua, a fresh state per object with the standard libraries skipped and
// only the package, base and table libraries opened (Argo CD also opens a
// restricted os library, which these scripts must not need and so do not get
// here), the object as the global `obj` (JSON numbers as Lua numbers, null as
// nil), a one-second deadline, and the chunk's last return value read as
// {status, message}. A status outside Argo CD's set becomes Unknown, as Argo
// CD reports it.
//
//	argocd-health [-cover] SCRIPT OBJECT...
//
// Each OBJECT is a YAML or JSON file holding one object. For each, one JSON
// line on stdout: {"input", "status", "message"}, or {"input", "error"} when
// the script fails or returns something other than a table. With -cover each
// line also carries "returnLines": the lines of the script's return statements
// that ran (a call recording the line is inserted before every return
// statement of the parsed chunk; nothing else changes). Exit status 1 when any
// object failed, 2 on bad usage or unreadable files.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
	"sigs.k8s.io/yaml"
)

// The health statuses Argo CD accepts from a script.
var validStatuses = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true,
}

const coverFunction = "__argocd_health_cover"

type result struct {
	Input       string `json:"input"`
	Status      string `json:"status,omitempty"`
	Message     string `json:"message,omitempty"`
	Error       string `json:"error,omitempty"`
	ReturnLines []int  `json:"returnLines,omitempty"`
}

func main() {
	cover := flag.Bool("cover", false, "report the lines of the return statements that ran")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: argocd-health [-cover] SCRIPT OBJECT...")
	}
	flag.Parse()
	if flag.NArg() < 2 {
		flag.Usage()
		os.Exit(2)
	}
	scriptPath := flag.Arg(0)
	script, err := os.ReadFile(scriptPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "argocd-health: %v\n", err)
		os.Exit(2)
	}
	out := json.NewEncoder(os.Stdout)
	failed := false
	for _, input := range flag.Args()[1:] {
		object, err := readObject(input)
		if err != nil {
			fmt.Fprintf(os.Stderr, "argocd-health: %s: %v\n", input, err)
			os.Exit(2)
		}
		res := run(scriptPath, string(script), object, *cover)
		res.Input = input
		if res.Error != "" {
			failed = true
		}
		if err := out.Encode(res); err != nil {
			fmt.Fprintf(os.Stderr, "argocd-health: %v\n", err)
			os.Exit(2)
		}
	}
	if failed {
		os.Exit(1)
	}
}

func readObject(path string) (map[string]interface{}, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	jsonBytes, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, err
	}
	var object map[string]interface{}
	if err := json.Unmarshal(jsonBytes, &object); err != nil {
		return nil, err
	}
	if object == nil {
		return nil, fmt.Errorf("no object")
	}
	return object, nil
}

func run(name, script string, object map[string]interface{}, cover bool) result {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return result{Error: fmt.Sprintf("opening %s: %v", lib.name, err)}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, object))

	lines := map[int]bool{}
	if cover {
		l.SetGlobal(coverFunction, l.NewFunction(func(l *lua.LState) int {
			lines[int(l.CheckNumber(1))] = true
			return 0
		}))
		chunk, err := parse.Parse(strings.NewReader(script), name)
		if err != nil {
			return result{Error: err.Error()}
		}
		chunk = instrument(chunk)
		proto, err := lua.Compile(chunk, name)
		if err != nil {
			return result{Error: err.Error()}
		}
		l.Push(l.NewFunctionFromProto(proto))
		if err := l.PCall(0, lua.MultRet, nil); err != nil {
			return result{Error: err.Error()}
		}
	} else if err := l.DoString(script); err != nil {
		return result{Error: err.Error()}
	}

	returned := l.Get(-1)
	table, ok := returned.(*lua.LTable)
	if !ok {
		return result{Error: fmt.Sprintf("expect table output from Lua script, not %s", returned.Type().String())}
	}
	res := result{Status: stringField(table, "status"), Message: stringField(table, "message")}
	if !validStatuses[res.Status] {
		res = result{Status: "Unknown", Message: "Lua returned an invalid health status"}
	}
	for line := range lines {
		res.ReturnLines = append(res.ReturnLines, line)
	}
	sort.Ints(res.ReturnLines)
	return res
}

func stringField(table *lua.LTable, key string) string {
	if value, ok := table.RawGetString(key).(lua.LString); ok {
		return string(value)
	}
	return ""
}

// toLua converts decoded JSON as Argo CD does: objects and arrays become
// tables (arrays 1-based), numbers Lua numbers, null nil.
func toLua(l *lua.LState, value interface{}) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []interface{}:
		table := l.CreateTable(len(v), 0)
		for _, item := range v {
			table.Append(toLua(l, item))
		}
		return table
	case map[string]interface{}:
		table := l.CreateTable(0, len(v))
		for key, item := range v {
			table.RawSetH(lua.LString(key), toLua(l, item))
		}
		return table
	}
	return lua.LNil
}

// instrument inserts `__argocd_health_cover(<line>)` before every return
// statement, in the chunk and in every function defined in it.
func instrument(stmts []ast.Stmt) []ast.Stmt {
	out := make([]ast.Stmt, 0, len(stmts))
	for _, stmt := range stmts {
		switch s := stmt.(type) {
		case *ast.ReturnStmt:
			for _, e := range s.Exprs {
				instrumentExpr(e)
			}
			out = append(out, coverCall(s.Line()))
		case *ast.AssignStmt:
			instrumentExprs(s.Lhs)
			instrumentExprs(s.Rhs)
		case *ast.LocalAssignStmt:
			instrumentExprs(s.Exprs)
		case *ast.FuncCallStmt:
			instrumentExpr(s.Expr)
		case *ast.DoBlockStmt:
			s.Stmts = instrument(s.Stmts)
		case *ast.WhileStmt:
			instrumentExpr(s.Condition)
			s.Stmts = instrument(s.Stmts)
		case *ast.RepeatStmt:
			instrumentExpr(s.Condition)
			s.Stmts = instrument(s.Stmts)
		case *ast.IfStmt:
			instrumentExpr(s.Condition)
			s.Then = instrument(s.Then)
			s.Else = instrument(s.Else)
		case *ast.NumberForStmt:
			instrumentExprs([]ast.Expr{s.Init, s.Limit, s.Step})
			s.Stmts = instrument(s.Stmts)
		case *ast.GenericForStmt:
			instrumentExprs(s.Exprs)
			s.Stmts = instrument(s.Stmts)
		case *ast.FuncDefStmt:
			instrumentExpr(s.Func)
		}
		out = append(out, stmt)
	}
	return out
}

func instrumentExprs(exprs []ast.Expr) {
	for _, e := range exprs {
		instrumentExpr(e)
	}
}

// instrumentExpr instruments the bodies of the functions an expression defines.
func instrumentExpr(expr ast.Expr) {
	switch e := expr.(type) {
	case *ast.FunctionExpr:
		e.Stmts = instrument(e.Stmts)
	case *ast.AttrGetExpr:
		instrumentExprs([]ast.Expr{e.Object, e.Key})
	case *ast.TableExpr:
		for _, field := range e.Fields {
			instrumentExprs([]ast.Expr{field.Key, field.Value})
		}
	case *ast.FuncCallExpr:
		instrumentExprs(append([]ast.Expr{e.Func, e.Receiver}, e.Args...))
	case *ast.LogicalOpExpr:
		instrumentExprs([]ast.Expr{e.Lhs, e.Rhs})
	case *ast.RelationalOpExpr:
		instrumentExprs([]ast.Expr{e.Lhs, e.Rhs})
	case *ast.StringConcatOpExpr:
		instrumentExprs([]ast.Expr{e.Lhs, e.Rhs})
	case *ast.ArithmeticOpExpr:
		instrumentExprs([]ast.Expr{e.Lhs, e.Rhs})
	case *ast.UnaryMinusOpExpr:
		instrumentExpr(e.Expr)
	case *ast.UnaryNotOpExpr:
		instrumentExpr(e.Expr)
	case *ast.UnaryLenOpExpr:
		instrumentExpr(e.Expr)
	}
}

func coverCall(line int) ast.Stmt {
	fn := &ast.IdentExpr{Value: coverFunction}
	arg := &ast.NumberExpr{Value: fmt.Sprint(line)}
	call := &ast.FuncCallExpr{Func: fn, Args: []ast.Expr{arg}}
	stmt := &ast.FuncCallStmt{Expr: call}
	for _, node := range []ast.PositionHolder{fn, arg, call, stmt} {
		node.SetLine(line)
		node.SetLastLine(line)
	}
	return stmt
}
