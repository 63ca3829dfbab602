package dagspec

import (
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Callbacks. gust runs a callback as a bash command. dag-factory files give
// Python callables instead: a dotted import path ("mymodule.notify"), a
// mapping with "callback:" and the callable's arguments, or a function in a
// file (on_failure_callback_name with on_failure_callback_file). Until gust
// runs Python, those are import errors that say so, rather than commands
// that fail with "command not found" when the callback fires.

const noPythonCallbacks = "in a YAML file gust runs callbacks as bash commands (a Python DAG file's callbacks are Python)"

// PythonCallback is the callback of a Python DAG file's DAG or task that
// is a Python callable: the worker calls it from the imported file.
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

// isPythonCallbackKey reports whether a key is dag-factory's callback given
// as a function in a file: on_failure_callback_name, ..._file.
func isPythonCallbackKey(key string) bool {
	return strings.HasSuffix(key, "_callback_name") || strings.HasSuffix(key, "_callback_file")
}

// callback reads a callback: a bash command, or a list of them (run in
// order, joined with newlines); null is no callback.
func (p *parser) callback(n *yaml.Node, ctx string) (string, error) {
	n = resolve(n)
	if isNull(n) {
		return "", nil
	}
	if n.Kind != yaml.SequenceNode {
		return p.callbackCommand(n, ctx)
	}
	var cmds []string
	for _, item := range n.Content {
		c, err := p.callbackCommand(item, ctx)
		if err != nil {
			return "", err
		}
		cmds = append(cmds, c)
	}
	return strings.Join(cmds, "\n"), nil
}

func (p *parser) callbackCommand(n *yaml.Node, ctx string) (string, error) {
	n = resolve(n)
	if n.Kind == yaml.MappingNode && strings.HasSuffix(p.file, ".py") && len(n.Content) == 2 && n.Content[0].Value == "__gust_python__" {
		return PythonCallback, nil
	}
	if n.Kind == yaml.MappingNode {
		return "", p.errf(n, "%s: a mapping (callback: with arguments) is a Python callable; %s", ctx, noPythonCallbacks)
	}
	s, err := p.str(n, ctx+" (a bash command)")
	if err != nil {
		return "", err
	}
	if isPythonPath(s) {
		return "", p.errf(n, "%s: %q is a Python import path; %s", ctx, s, noPythonCallbacks)
	}
	return s, nil
}

// pythonCallbackKeyError is the import error for on_*_callback_name and
// on_*_callback_file.
func (p *parser) pythonCallbackKeyError(f field, where string) error {
	return p.errf(f.knod, "%s: %s names a Python function in a file (dag-factory's form); %s", where, f.key, noPythonCallbacks)
}
