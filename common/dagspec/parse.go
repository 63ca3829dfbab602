package dagspec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The YAML reader: files, mappings with merge keys and aliases, errors with lines.

// ParseError is an import error: what is wrong with a DAG file, and where.
type ParseError struct {
	File string
	Line int // 0 when unknown
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Defaults that Airflow applies to a DAG and a BaseOperator.
const (
	DefaultPool          = "default_pool"
	DefaultRetryDelaySec = 300
	DefaultSkipExitCode  = 99
	// DefaultOwner is Airflow's owner of a task that names none
	// ([operators] default_owner).
	DefaultOwner = "airflow"
	// DefaultSchedule is Airflow 3's schedule for a DAG that names none:
	// None, so the DAG runs only when triggered. (Airflow 2's was
	// timedelta(days=1); Airflow 3 offers no key to bring it back, and
	// neither does gust: write schedule: "@daily" or {days: 1}.)
	DefaultSchedule = ""
	maxIDLength     = 250
)

// ParseFile reads and parses one DAG file.
func ParseFile(path string, opts Options) ([]*DAG, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ParseError{File: path, Msg: fmt.Sprintf("cannot read: %v", err)}
	}
	return ParseWith(path, data, opts)
}

// Parse parses the DAGs of one file. Any error makes the whole file an
// import error, as in Airflow; the error is a *ParseError.
func Parse(fileloc string, data []byte) ([]*DAG, error) {
	return ParseWith(fileloc, data, Options{})
}

// ParseWith is Parse with the [scheduler] options that decide what a
// schedule means.
func ParseWith(fileloc string, data []byte, opts Options) ([]*DAG, error) {
	p := &parser{file: fileloc, opts: opts}
	dags, err := p.parse(data)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			return nil, pe
		}
		return nil, &ParseError{File: fileloc, Msg: err.Error()}
	}
	return dags, nil
}

type parser struct {
	file    string
	opts    Options
	ignored []ignoredArg // of the DAG being read
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// field is one key of a YAML mapping with its value node.
type field struct {
	key  string
	knod *yaml.Node
	val  *yaml.Node
}

// fields returns the pairs of a mapping, resolving aliases and merge keys
// (<<), refusing duplicate keys.
func (p *parser) fields(n *yaml.Node, what string) ([]field, error) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "%s must be a mapping", what)
	}
	var out []field
	seen := map[string]bool{}
	var merged []field
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" || (k.Value == "<<" && k.Kind == yaml.ScalarNode && k.Style == 0) {
			srcs := []*yaml.Node{resolve(v)}
			if srcs[0].Kind == yaml.SequenceNode {
				srcs = srcs[0].Content
			}
			for _, s := range srcs {
				fs, err := p.fields(s, what+" (merged)")
				if err != nil {
					return nil, err
				}
				merged = append(merged, fs...)
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, p.errf(k, "%s: keys must be strings", what)
		}
		if seen[k.Value] {
			return nil, p.errf(k, "%s: duplicate key %q", what, k.Value)
		}
		seen[k.Value] = true
		out = append(out, field{key: k.Value, knod: k, val: v})
	}
	for _, f := range merged {
		if !seen[f.key] {
			seen[f.key] = true
			out = append(out, f)
		}
	}
	return out, nil
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return resolve(n.Content[0])
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func (p *parser) parse(data []byte) ([]*DAG, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(p.file, data, err)
	}
	root := resolve(&doc)
	if root == nil || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
		return nil, nil // an empty file defines no DAG
	}
	top, err := p.fields(root, "the file")
	if err != nil {
		return nil, err
	}
	var def []field
	for _, f := range top {
		if f.key == "default" {
			if def, err = p.fields(f.val, "default"); err != nil {
				return nil, err
			}
		}
	}
	var dags []*DAG
	for _, f := range top {
		if f.key == "default" {
			continue
		}
		d, err := p.dag(f, def)
		if err != nil {
			return nil, err
		}
		dags = append(dags, d)
	}
	return dags, nil
}

// merge returns base overridden key by key by over.
func merge(base, over []field) []field {
	out := append([]field(nil), over...)
	seen := map[string]bool{}
	for _, f := range over {
		seen[f.key] = true
	}
	for _, f := range base {
		if !seen[f.key] {
			out = append(out, f)
		}
	}
	return out
}

func get(fs []field, key string) (field, bool) {
	for _, f := range fs {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

var yamlLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// yamlError turns a yaml.v3 syntax error into an import error on the line
// of the offending token. yaml.v3 names the line where the enclosing block
// started (its context mark) rather than the token it stumbled on, which it
// keeps to itself: a bad indent on line 7 inside a mapping opened on line 4
// comes back as "line 3" or "line 4". Since the parser stops at its first
// error, the shortest prefix of whole lines that fails with the very same
// error ends on the offending line.
func yamlError(file string, data []byte, err error) *ParseError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if l := offendingLine(data, err.Error()); l > 0 {
		line = l
	}
	return &ParseError{File: file, Line: line, Msg: "invalid YAML: " + msg}
}

// offendingLine returns the number of the first line k such that the first
// k lines of data fail to parse with the error want, or 0. It bisects: a
// prefix that stops before the fault parses, or fails differently (cut off
// mid-construct); one that includes it fails as the whole file does.
func offendingLine(data []byte, want string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if n := len(lines); n > 0 && len(lines[n-1]) == 0 {
		lines = lines[:n-1]
	}
	fails := func(k int) bool {
		var n yaml.Node
		err := yaml.Unmarshal(bytes.Join(lines[:k], nil), &n)
		return err != nil && err.Error() == want
	}
	if len(lines) == 0 || !fails(len(lines)) {
		return 0
	}
	lo, hi := 1, len(lines)
	for lo < hi {
		if mid := (lo + hi) / 2; fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
