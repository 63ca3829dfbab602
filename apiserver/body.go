package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// object is a JSON object of a request body read field by field, with
// pydantic's rules and words: which fields are present (PATCH bodies and
// update masks depend on it), required and nullable fields, types, and
// every problem found as one 422 issue at its location.
type object struct {
	raw    map[string]json.RawMessage
	loc    []any
	issues []validationIssue
}

// field flags.
const (
	optional = 0
	required = 1 << iota
	nullable
)

// readObject reads the request body as a JSON object (FastAPI's 422s for
// a body that is not one).
func readObject(r *http.Request) (*object, error) {
	var raw map[string]json.RawMessage
	if err := decodeBody(r, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, invalid("Field required", "missing", "body")
	}
	return &object{raw: raw, loc: []any{"body"}}, nil
}

// subObject reads b (at loc) as an object; ok is false, with the issue
// added to o, when it is not one.
func (o *object) subObject(b json.RawMessage, loc []any) (*object, bool) {
	var raw map[string]json.RawMessage
	if jsonKind(b) != '{' || json.Unmarshal(b, &raw) != nil {
		o.issues = append(o.issues, validationIssue{Loc: loc, Type: "model_attributes_type",
			Msg: "Input should be a valid dictionary or object to extract fields from", Input: inputOf(b)})
		return nil, false
	}
	return &object{raw: raw, loc: loc}, true
}

// merge adds the issues of a nested object to o.
func (o *object) merge(sub *object) { o.issues = append(o.issues, sub.issues...) }

// err returns the 422 for every issue found, or nil.
func (o *object) err() error {
	if len(o.issues) == 0 {
		return nil
	}
	return &httpError{status: http.StatusUnprocessableEntity, detail: o.issues}
}

func (o *object) at(name string) []any { return append(append([]any{}, o.loc...), name) }

func (o *object) fail(name, msg, typ string, input any) {
	loc := o.loc
	if name != "" {
		loc = o.at(name)
	}
	o.issues = append(o.issues, validationIssue{Loc: loc, Msg: msg, Type: typ, Input: input})
}

// only reports every field not in allowed (pydantic's extra="forbid").
func (o *object) only(allowed ...string) {
	var extra []string
	for k := range o.raw {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		o.fail(k, "Extra inputs are not permitted", "extra_forbidden", inputOf(o.raw[k]))
	}
}

// has reports whether the field is present (even as null).
func (o *object) has(name string) bool {
	_, ok := o.raw[name]
	return ok
}

// value returns a field's raw JSON and whether it may be read: a missing
// required field or a null non-nullable one is an issue; a missing or null
// field otherwise reads as absent.
func (o *object) value(name string, flags int) (json.RawMessage, bool) {
	b, ok := o.raw[name]
	if !ok {
		if flags&required != 0 {
			o.fail(name, "Field required", "missing", nil)
		}
		return nil, false
	}
	if jsonKind(b) == 'n' && flags&nullable != 0 {
		return nil, false
	}
	return b, true
}

// str reads a string field; maxLen > 0 bounds its length in characters.
func (o *object) str(name string, flags, maxLen int) *string {
	b, ok := o.value(name, flags)
	if !ok {
		return nil
	}
	var s string
	if jsonKind(b) != '"' || json.Unmarshal(b, &s) != nil {
		o.fail(name, "Input should be a valid string", "string_type", inputOf(b))
		return nil
	}
	if maxLen > 0 && utf8.RuneCountInString(s) > maxLen {
		o.fail(name, fmt.Sprintf("String should have at most %d characters", maxLen), "string_too_long", s)
		return nil
	}
	return &s
}

// integer reads an integer field (a number without a fractional part);
// min bounds it unless it is math.MinInt.
func (o *object) integer(name string, flags, min int) *int {
	b, ok := o.value(name, flags)
	if !ok {
		return nil
	}
	n, typ, msg := jsonInt(b)
	if typ != "" {
		o.fail(name, msg, typ, inputOf(b))
		return nil
	}
	if min != math.MinInt && n < min {
		o.fail(name, "Input should be greater than or equal to "+strconv.Itoa(min), "greater_than_equal", n)
		return nil
	}
	return &n
}

// boolean reads a boolean field.
func (o *object) boolean(name string, flags int) *bool {
	b, ok := o.value(name, flags)
	if !ok {
		return nil
	}
	var v bool
	if k := jsonKind(b); (k != 't' && k != 'f') || json.Unmarshal(b, &v) != nil {
		o.fail(name, "Input should be a valid boolean", "bool_type", inputOf(b))
		return nil
	}
	return &v
}

// strings reads a list of strings.
func (o *object) strings(name string, flags int) []string {
	b, ok := o.value(name, flags)
	if !ok {
		return nil
	}
	var items []json.RawMessage
	if jsonKind(b) != '[' || json.Unmarshal(b, &items) != nil {
		o.fail(name, "Input should be a valid list", "list_type", inputOf(b))
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		var s string
		if jsonKind(it) != '"' || json.Unmarshal(it, &s) != nil {
			o.issues = append(o.issues, validationIssue{Loc: append(o.at(name), i), Msg: "Input should be a valid string",
				Type: "string_type", Input: inputOf(it)})
			continue
		}
		out = append(out, s)
	}
	return out
}

// oneOf reads a string field that must be one of allowed (def when absent).
func (o *object) oneOf(name, def string, allowed ...string) string {
	b, ok := o.value(name, optional)
	if !ok {
		return def
	}
	var s string
	if jsonKind(b) == '"' && json.Unmarshal(b, &s) == nil {
		for _, a := range allowed {
			if s == a {
				return s
			}
		}
	}
	o.fail(name, "Input should be "+pyAlternatives(allowed), "enum", inputOf(b))
	return def
}

// noTeam refuses team_name, as Airflow does when multi-team mode is off
// (gust has no teams).
func (o *object) noTeam() {
	if o.str("team_name", nullable, 50) != nil {
		o.fail("", "Value error, team_name cannot be set when multi_team mode is disabled. Please contact your administrator.",
			"value_error", nil)
	}
}

// pyAlternatives words a list of choices as pydantic does: 'a', 'b' or 'c'.
func pyAlternatives(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "'" + v + "'"
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// jsonKind is the first byte of a JSON value's text: '{', '[', '"', 't',
// 'f', 'n', or '0' for a number.
func jsonKind(b json.RawMessage) byte {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0
	}
	switch c := b[0]; c {
	case '{', '[', '"', 't', 'f', 'n':
		return c
	default:
		return '0'
	}
}

// jsonInt reads an integer as pydantic's lax mode does (5 and 5.0 are 5),
// or returns the issue's type and message.
func jsonInt(b json.RawMessage) (n int, typ, msg string) {
	const notInt = "Input should be a valid integer"
	var num json.Number
	if jsonKind(b) != '0' || json.Unmarshal(b, &num) != nil {
		return 0, "int_type", notInt
	}
	if n, err := strconv.Atoi(num.String()); err == nil {
		return n, "", ""
	}
	f, err := num.Float64()
	if err != nil || math.IsInf(f, 0) || f >= math.MaxInt64 || f <= math.MinInt64 {
		return 0, "int_type", notInt
	}
	if f != math.Trunc(f) {
		return 0, "int_from_float", notInt + ", got a number with a fractional part"
	}
	return int(f), "", ""
}

// inputOf is a raw value as a 422 issue's "input".
func inputOf(b json.RawMessage) any {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	return v
}
