package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"

	"github.com/gust-sched/gust/common/secrets"
)

// Airflow masks secrets in what the API returns with its secrets masker:
// a value under a key that names a secret (password, token, api_key, ...)
// becomes "***", and known secret values inside other strings become "***".
// Connection extras and JSON variable values go through Python's json
// module on the way, so they come back as json.dumps writes them. This
// file does the same on an order-keeping JSON tree.

// redacted is what a secret becomes.
const redacted = "***"

// minSecretLen is the shortest secret value masked inside other strings
// (as gust's log masker: shorter ones would garble ordinary text).
const minSecretLen = 3

// jsonNode is a parsed JSON value that keeps the order of object keys.
type jsonNode struct {
	kind byte        // '{', '[', '"', '0' (number), 't', 'f', 'n'
	text string      // a string's value or a number's literal
	keys []string    // an object's keys, in order
	vals []*jsonNode // an object's values or an array's items
}

// parseJSONTree parses one JSON value (and nothing after it).
func parseJSONTree(text string) (*jsonNode, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	n, err := readNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON value")
	}
	return n, nil
}

func readNode(dec *json.Decoder) (*jsonNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &jsonNode{kind: byte(t)}
		for dec.More() {
			if t == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			v, err := readNode(dec)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return &jsonNode{kind: '"', text: t}, nil
	case json.Number:
		return &jsonNode{kind: '0', text: t.String()}, nil
	case bool:
		if t {
			return &jsonNode{kind: 't'}, nil
		}
		return &jsonNode{kind: 'f'}, nil
	case nil:
		return &jsonNode{kind: 'n'}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// pyDumps writes n as Python's json.dumps does by default.
func (n *jsonNode) pyDumps() string {
	var b strings.Builder
	n.writePy(&b)
	return b.String()
}

func (n *jsonNode) writePy(b *strings.Builder) {
	switch n.kind {
	case '{', '[':
		b.WriteByte(n.kind)
		for i, v := range n.vals {
			if i > 0 {
				b.WriteString(", ")
			}
			if n.kind == '{' {
				writePyString(b, n.keys[i])
				b.WriteString(": ")
			}
			v.writePy(b)
		}
		if n.kind == '{' {
			b.WriteByte('}')
		} else {
			b.WriteByte(']')
		}
	case '"':
		writePyString(b, n.text)
	case '0':
		b.WriteString(n.text)
	case 't':
		b.WriteString("true")
	case 'f':
		b.WriteString("false")
	default:
		b.WriteString("null")
	}
}

// writePyString writes a JSON string as json.dumps does (ensure_ascii).
func writePyString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
		case r < 0x20 || r >= 0x7f:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// redact masks n in place as Airflow's redact(): under a sensitive name
// every string becomes "***" (other scalars stay); elsewhere an object's
// values are redacted under their keys, and the known secret values are
// masked inside strings.
func (n *jsonNode) redact(sensitive bool, known []string) {
	switch n.kind {
	case '{':
		for i, v := range n.vals {
			v.redact(sensitive || secrets.IsSensitiveName(n.keys[i]), known)
		}
	case '[':
		for _, v := range n.vals {
			v.redact(sensitive, known)
		}
	case '"':
		if sensitive {
			n.text = redacted
		} else {
			n.text = maskKnown(n.text, known)
		}
	}
}

// maskKnown replaces the known secret values in s with "***".
func maskKnown(s string, known []string) string {
	for _, k := range known {
		if len(k) >= minSecretLen {
			s = strings.ReplaceAll(s, k, redacted)
		}
	}
	return s
}

// redactText masks a value that may be JSON, as Airflow's API does for a
// variable's value and a connection's extra: JSON comes back redacted in
// json.dumps's form, other text is "***" under a sensitive name and
// otherwise has its known secrets masked.
func redactText(text string, sensitive bool, known ...string) string {
	n, err := parseJSONTree(text)
	if err != nil {
		if sensitive {
			return redacted
		}
		return maskKnown(text, known)
	}
	n.redact(sensitive, known)
	return n.pyDumps()
}

// mergeRedacted undoes the masking in a value a client sends back: where
// the new value still says "***" under a sensitive name, the old value is
// kept, as Airflow's secrets masker merge() (so that a client can PATCH
// what it read).
func mergeRedacted(nw, old *jsonNode, sensitive bool) *jsonNode {
	switch {
	case nw.kind == '{' && old.kind == '{':
		out := &jsonNode{kind: '{'}
		for i, k := range nw.keys {
			v := nw.vals[i]
			if j := old.index(k); j >= 0 {
				v = mergeRedacted(v, old.vals[j], sensitive || secrets.IsSensitiveName(k))
			}
			out.keys, out.vals = append(out.keys, k), append(out.vals, v)
		}
		return out
	case nw.kind == '[' && old.kind == '[':
		out := &jsonNode{kind: '['}
		for i, v := range nw.vals {
			if i < len(old.vals) {
				v = mergeRedacted(v, old.vals[i], sensitive)
			}
			out.vals = append(out.vals, v)
		}
		return out
	case sensitive && nw.kind == '"' && nw.text == redacted:
		return old
	}
	return nw
}

func (n *jsonNode) index(key string) int {
	for i, k := range n.keys {
		if k == key {
			return i
		}
	}
	return -1
}

// compactJSON is JSON text in json.dumps's form, for storing a value that
// a client sent as JSON (a variable's non-string value).
func compactJSON(b json.RawMessage) (string, error) {
	n, err := parseJSONTree(string(bytes.TrimSpace(b)))
	if err != nil {
		return "", err
	}
	return n.pyDumps(), nil
}
