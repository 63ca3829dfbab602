package dagspec

import (
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Callbacks. A YAML file's callback is a bash command, or a Python callable
// named as dag-factory names one: a dotted import path
// ("include.alerts.notify"), a mapping with "callback:" (the import path)
// and the keyword arguments bound to it, or a function in a file
// (on_failure_callback_name with on_failure_callback_file). Either form may
// be a list, run in order. A Python DAG file's callbacks are its own
// callables. Python callbacks run on the worker's Python processes with the
// context as their argument.

// PythonCallback is the command of a callback that is a Python callable:
// the DAG's or task's PythonCallbacks (a YAML file's), or else the callable
// the worker finds on the DAG file's own DAG or task.
const PythonCallback = "__gust_python_callback__"

// pythonPathRE matches a dotted Python import path: two or more identifiers
// joined by dots, nothing else.
var pythonPathRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$`)

// scriptExts end the names of scripts: "notify.sh" runs a script, it does
// not name the attribute "sh" of a module "notify".
var scriptExts = map[string]bool{"sh": true, "bash": true, "zsh": true, "ksh": true, "py": true, "pl": true, "rb": true}

// isPythonPath reports whether a callback string is a Python import path
// rather than a bash command. A bash command has a space ("echo x",
// "notify.sh arg"), a slash ("./notify.sh"), a template or other shell
// syntax, is a single word ("notify"), or names a script ("notify.sh").
func isPythonPath(s string) bool {
	s = strings.TrimSpace(s)
	if !pythonPathRE.MatchString(s) {
		return false
	}
	return !scriptExts[s[strings.LastIndexByte(s, '.')+1:]]
}

// callbackKeys are the callbacks gust runs; on_execute_callback and
// on_skipped_callback are named as unsupported where they are read.
var callbackKeys = map[string]bool{"on_success_callback": true, "on_failure_callback": true, "on_retry_callback": true,
	"on_execute_callback": true, "on_skipped_callback": true}

// callbackPairKey reports whether key is half of dag-factory's function in
// a file (on_failure_callback_name, on_failure_callback_file), and which
// callback it sets.
func callbackPairKey(key string) (callback string, ok bool) {
	for _, suffix := range []string{"_name", "_file"} {
		if base, found := strings.CutSuffix(key, suffix); found && strings.HasSuffix(base, "_callback") {
			return base, true
		}
	}
	return "", false
}

// callback reads a callback: a bash command or a Python callable, or a list
// of them run in order (bash commands joined with newlines); null is no
// callback. A Python callback's command is PythonCallback, its callables in
// py (none for a Python DAG file's own).
func (p *parser) callback(n *yaml.Node, ctx string) (cmd string, py []PyCallable, err error) {
	n = resolve(n)
	if isNull(n) {
		return "", nil, nil
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var cmds []string
	for _, item := range items {
		c, f, err := p.callbackItem(item, ctx)
		if err != nil {
			return "", nil, err
		}
		if c == PythonCallback && f == nil {
			return PythonCallback, nil, nil // a Python DAG file's own callables
		}
		if f != nil {
			py = append(py, *f)
		} else {
			cmds = append(cmds, c)
		}
		if len(py) > 0 && len(cmds) > 0 {
			return "", nil, p.errf(item, "%s: a list of callbacks mixes bash commands and Python callables; make them all one or the other", ctx)
		}
	}
	if len(py) > 0 {
		return PythonCallback, py, nil
	}
	return strings.Join(cmds, "\n"), nil, nil
}

// callbackItem reads one callback of a list: a bash command (cmd), or a
// Python callable (f).
func (p *parser) callbackItem(n *yaml.Node, ctx string) (cmd string, f *PyCallable, err error) {
	n = resolve(n)
	if n.Kind == yaml.MappingNode && strings.HasSuffix(p.file, ".py") && len(n.Content) == 2 && n.Content[0].Value == "__gust_python__" {
		return PythonCallback, nil, nil
	}
	if n.Kind == yaml.MappingNode {
		return p.callbackMapping(n, ctx)
	}
	s, err := p.str(n, ctx+" (a bash command or a Python import path)")
	if err != nil {
		return "", nil, err
	}
	if isPythonPath(s) {
		mod, name, _ := cutLast(strings.TrimSpace(s), ".")
		return "", &PyCallable{Module: mod, Name: name}, nil
	}
	return s, nil, nil
}

// callbackMapping reads dag-factory's "callback: module.function" with the
// keyword arguments bound to it (a notifier class is built with them).
func (p *parser) callbackMapping(n *yaml.Node, ctx string) (string, *PyCallable, error) {
	fs, err := p.fields(n, ctx)
	if err != nil {
		return "", nil, err
	}
	cb, ok := get(fs, "callback")
	if !ok {
		return "", nil, p.errf(n, "%s: a callback mapping needs callback: (a Python import path, module.function), its other keys being the callable's arguments", ctx)
	}
	s, err := p.str(cb.val, ctx+".callback")
	if err != nil {
		return "", nil, err
	}
	s = strings.TrimSpace(s)
	if !pythonPathRE.MatchString(s) {
		return "", nil, p.errf(cb.val, "%s.callback: %q is not a Python import path (module.function)", ctx, s)
	}
	mod, name, _ := cutLast(s, ".")
	f := &PyCallable{Module: mod, Name: name}
	for _, a := range fs {
		if a.key == "callback" {
			continue
		}
		var v any
		if err := p.decode(a.val, &v, ctx+"."+a.key, "a value"); err != nil {
			return "", nil, err
		}
		if f.Kwargs == nil {
			f.Kwargs = map[string]any{}
		}
		f.Kwargs[a.key] = v
	}
	return "", f, nil
}

// callbackPair reads dag-factory's function in a file for the callback key
// from the mapping fs: key_name and key_file, a file relative to the DAG
// file's folder unless absolute. ok is false when fs has neither.
func (p *parser) callbackPair(fs []field, key, ctx string) (f *PyCallable, ok bool, err error) {
	nameF, hasName := get(fs, key+"_name")
	fileF, hasFile := get(fs, key+"_file")
	if !hasName && !hasFile {
		return nil, false, nil
	}
	if !hasName || !hasFile {
		at := nameF.knod
		if !hasName {
			at = fileF.knod
		}
		return nil, true, p.errf(at, "%s: %s_name and %s_file go together (a function in a Python file)", ctx, key, key)
	}
	name, err := p.str(nameF.val, ctx+": "+nameF.key)
	if err != nil {
		return nil, true, err
	}
	file, err := p.str(fileF.val, ctx+": "+fileF.key)
	if err != nil {
		return nil, true, err
	}
	if !pythonIdentRE.MatchString(name) {
		return nil, true, p.errf(nameF.val, "%s: %s: %q is not a Python function name", ctx, nameF.key, name)
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(p.file), file)
	}
	return &PyCallable{Name: name, File: filepath.Clean(file)}, true, nil
}

var pythonIdentRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
