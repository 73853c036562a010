package catalog

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"reflect"
	"strings"
	"text/template"
	"text/template/parse"
)

// Templates cannot be interrupted, and a function they call cannot see
// which render it serves. So every template is rewritten once, after it is
// parsed, to carry its render's budget:
//
//   - the template starts with {{$herald-budget := heraldBudget $}}, which
//     takes the budget out of the data (where no template code has run yet)
//     into a variable no template source can name or assign;
//   - every call of a function that builds text (printf, quote, join, …)
//     gets that variable as a first argument, and spends the budget before
//     it runs;
//   - every range's pipeline ends in heraldRange, which counts its items
//     before the range starts, and every range body starts by checking the
//     time, so a range that writes nothing is bounded too.
//
// Template calls ({{template}}, {{block}}, {{define}}) are refused: a
// called template starts with fresh variables, without the budget, and
// templates calling each other can multiply their work without a range.

// budgetVar names the budget inside templates. The hyphen makes it a name
// no template source can write.
const budgetVar = "$herald-budget"

// budgetKey carries the budget into the data until the template's first
// action takes it out.
const budgetKey = "\x00herald-budget"

// Functions the rewrite inserts.
const (
	fnBudget = "heraldBudget"
	fnRange  = "heraldRange"
	fnTick   = "heraldTick"
)

// html/template treats commands named html and urlquery in an action's
// pipeline as its own escapers: it calls them with one argument at the end
// of the pipeline and refuses them before. There they stay as they are
// (bounded without the budget, and followed by a write, which checks the
// time); elsewhere in an HTML template (an argument, a variable's value, a
// condition) they are renamed to these guarded versions.
var htmlRenames = map[string]string{"html": "heraldHTML", "urlquery": "heraldURLQuery"}

// errTemplateCalls explains why a template was refused.
var errTemplateCalls = errors.New("templates cannot define or call other templates ({{define}}, {{block}} and {{template}} are not supported)")

// guardText parses a text template and rewrites it.
func guardText(name, src string) (*template.Template, error) {
	t, err := template.New(name).Funcs(textFuncs).Parse(src)
	if err != nil {
		return nil, err
	}
	if len(t.Templates()) > 1 {
		return nil, errTemplateCalls
	}
	if err := rewrite(t.Tree, false); err != nil {
		return nil, err
	}
	return t, nil
}

// guardHTML parses an HTML template and rewrites it before its first
// execution, when html/template escapes it.
func guardHTML(name, src string) (*htmltemplate.Template, error) {
	t, err := htmltemplate.New(name).Funcs(htmlFuncs).Parse(src)
	if err != nil {
		return nil, err
	}
	if len(t.Templates()) > 1 {
		return nil, errTemplateCalls
	}
	if err := rewrite(t.Tree, true); err != nil {
		return nil, err
	}
	return t, nil
}

type rewriter struct {
	tree *parse.Tree
	html bool
	err  error
}

func rewrite(tree *parse.Tree, html bool) error {
	if tree == nil || tree.Root == nil {
		return nil
	}
	w := &rewriter{tree: tree, html: html}
	w.list(tree.Root)
	if w.err != nil {
		return w.err
	}
	pos := tree.Root.Pos
	take := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{
		parse.NewIdentifier(fnBudget).SetTree(tree).SetPos(pos),
		&parse.VariableNode{NodeType: parse.NodeVariable, Pos: pos, Ident: []string{"$"}},
	}}
	tree.Root.Nodes = append([]parse.Node{declare(pos, budgetVar, take)}, tree.Root.Nodes...)
	return nil
}

// declare is {{name := cmd}}: an action that writes nothing, which
// html/template leaves unescaped.
func declare(pos parse.Pos, name string, cmd *parse.CommandNode) *parse.ActionNode {
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Pipe: &parse.PipeNode{
		NodeType: parse.NodePipe, Pos: pos,
		Decl: []*parse.VariableNode{{NodeType: parse.NodeVariable, Pos: pos, Ident: []string{name}}},
		Cmds: []*parse.CommandNode{cmd},
	}}
}

// budgetCall is the command name $herald-budget args….
func (w *rewriter) budgetCall(pos parse.Pos, name string, args ...parse.Node) *parse.CommandNode {
	return &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: append([]parse.Node{
		parse.NewIdentifier(name).SetTree(w.tree).SetPos(pos),
		&parse.VariableNode{NodeType: parse.NodeVariable, Pos: pos, Ident: []string{budgetVar}},
	}, args...)}
}

func (w *rewriter) list(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		w.node(n)
	}
}

func (w *rewriter) node(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		w.list(n)
	case *parse.ActionNode:
		w.pipe(n.Pipe, true)
	case *parse.IfNode:
		w.pipe(n.Pipe, false)
		w.list(n.List)
		w.list(n.ElseList)
	case *parse.WithNode:
		w.pipe(n.Pipe, false)
		w.list(n.List)
		w.list(n.ElseList)
	case *parse.RangeNode:
		w.pipe(n.Pipe, false)
		w.list(n.List)
		w.list(n.ElseList)
		n.Pipe.Cmds = append(n.Pipe.Cmds, w.budgetCall(n.Pos, fnRange))
		if n.List == nil {
			n.List = &parse.ListNode{NodeType: parse.NodeList, Pos: n.Pos}
		}
		n.List.Nodes = append([]parse.Node{declare(n.Pos, "$herald-tick", w.budgetCall(n.Pos, fnTick))}, n.List.Nodes...)
	case *parse.TemplateNode:
		w.err = errTemplateCalls
	case *parse.TextNode, *parse.CommentNode, *parse.BreakNode, *parse.ContinueNode:
	default:
		w.err = fmt.Errorf("unexpected %T in a template", n)
	}
}

// pipe rewrites the calls of a pipeline; action says it is an action's
// (whose result html/template escapes), not a condition's or a range's.
func (w *rewriter) pipe(p *parse.PipeNode, action bool) {
	if p == nil {
		return
	}
	// html/template merges html and urlquery ending an action's pipeline
	// into its own escapers and refuses them anywhere else in the pipeline.
	escapers := w.html && action && len(p.Decl) == 0
	for _, c := range p.Cmds {
		w.command(c, escapers)
	}
}

func (w *rewriter) command(c *parse.CommandNode, escaper bool) {
	args := make([]parse.Node, 0, len(c.Args)+1)
	for i, a := range c.Args {
		switch a := a.(type) {
		case *parse.IdentifierNode:
			w.reserved(a.Ident)
			if i == 0 && escaper && htmlRenames[a.Ident] != "" {
				args = append(args, a)
				continue
			}
			name, ok := w.guarded(a.Ident)
			if !ok {
				args = append(args, a)
				continue
			}
			if i == 0 {
				args = append(args, w.budgetCall(a.Pos, name).Args...)
				continue
			}
			// A function named as an argument is called without
			// arguments: (name $herald-budget).
			args = append(args, w.call(a.Pos, name))
		case *parse.PipeNode:
			w.pipe(a, false)
			args = append(args, a)
		case *parse.ChainNode:
			switch n := a.Node.(type) {
			case *parse.IdentifierNode:
				w.reserved(n.Ident)
				if name, ok := w.guarded(n.Ident); ok {
					a.Node = w.call(n.Pos, name)
				}
			case *parse.PipeNode:
				w.pipe(n, false)
			}
			args = append(args, a)
		default:
			args = append(args, a)
		}
	}
	c.Args = args
}

// reserved refuses the names of the functions the rewrite inserts: they
// are registered for it alone, and a template naming them would not parse
// anywhere else.
func (w *rewriter) reserved(name string) {
	_, injected := injectedFuncs[name]
	if injected || name == htmlRenames["html"] || name == htmlRenames["urlquery"] {
		w.err = fmt.Errorf("function %q not defined", name)
	}
}

// call is the parenthesized pipeline (name $herald-budget).
func (w *rewriter) call(pos parse.Pos, name string) *parse.PipeNode {
	return &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Cmds: []*parse.CommandNode{w.budgetCall(pos, name)}}
}

// guarded reports whether name is a function that takes the budget, and
// its name in the rewritten template.
func (w *rewriter) guarded(name string) (string, bool) {
	if w.html {
		if renamed, ok := htmlRenames[name]; ok {
			return renamed, true
		}
	}
	_, ok := guardedFuncs[name]
	return name, ok
}

// literalItems is the most range items a template's ranges over integer
// literals ({{range 3000}}) take whatever the data: the sum over ranges of
// each one's count times its body's, the larger branch of an if or with.
// Ranges over data count 1 here; they are counted when they run.
func literalItems(l *parse.ListNode) float64 {
	if l == nil {
		return 0
	}
	var total float64
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.IfNode:
			total += max(literalItems(n.List), literalItems(n.ElseList))
		case *parse.WithNode:
			total += max(literalItems(n.List), literalItems(n.ElseList))
		case *parse.RangeNode:
			count := 1.0
			if len(n.Pipe.Cmds) > 0 && len(n.Pipe.Cmds[0].Args) == 1 {
				if num, ok := n.Pipe.Cmds[0].Args[0].(*parse.NumberNode); ok && num.IsInt {
					count = max(float64(num.Int64), 0)
				}
			}
			total += count*(1+literalItems(n.List)) + literalItems(n.ElseList)
		}
	}
	return total
}

// rangeItems is heraldRange: it counts what a range is about to iterate
// over and passes it on unchanged.
func rangeItems(bv, v any) (any, error) {
	b, err := budgetOf(bv)
	if err != nil {
		return nil, err
	}
	n, err := itemsOf(v)
	if err != nil {
		return nil, err
	}
	if err := b.takeItems(n); err != nil {
		return nil, err
	}
	return v, nil
}

func itemsOf(v any) (int64, error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return 0, nil
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return max(rv.Int(), 0), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if rv.Uint() > MaxRangeItems {
			return MaxRangeItems + 1, nil
		}
		return int64(rv.Uint()), nil
	case reflect.Slice, reflect.Array, reflect.Map, reflect.String:
		return int64(rv.Len()), nil
	case reflect.Chan, reflect.Func:
		return 0, fmt.Errorf("cannot range over a %s", rv.Kind())
	}
	return 0, nil // text/template refuses it, or it is empty
}

// budgetOf is the budget a guarded function was given.
func budgetOf(v any) (*budget, error) {
	if b, ok := v.(*budget); ok && b != nil {
		return b, nil
	}
	return nil, errors.New("this function is called with the render's budget first; templates do not pass it themselves")
}

// takeBudget is heraldBudget: it moves the budget from the data into the
// template's variable, before any template code can see the data.
func takeBudget(root any) (any, error) {
	m, ok := root.(map[string]any)
	if !ok {
		return nil, errors.New("no render budget")
	}
	b, ok := m[budgetKey].(*budget)
	if !ok {
		return nil, errors.New("no render budget")
	}
	delete(m, budgetKey)
	return b, nil
}

func tick(bv any) (string, error) {
	b, err := budgetOf(bv)
	if err != nil {
		return "", err
	}
	return "", b.check()
}

// cleanError drops the rewrite's traces from an error a tenant reads: a
// bound is reported as itself, without the template's execution context;
// any other error without the budget's variable in its context.
func cleanError(err error) error {
	var bound *BoundError
	if errors.As(err, &bound) {
		return bound
	}
	if err == nil || !strings.Contains(err.Error(), budgetVar) {
		return err
	}
	return renderError{err}
}

type renderError struct{ err error }

func (e renderError) Error() string {
	s := strings.ReplaceAll(e.err.Error(), " "+budgetVar, "")
	return strings.ReplaceAll(s, budgetVar+" ", "")
}

func (e renderError) Unwrap() error { return e.err }
