package apiserver

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gust-sched/gust/metadb"
)

// query reads query parameters, collecting FastAPI-style 422 issues.
type query struct {
	v      url.Values
	issues []validationIssue
}

func newQuery(r *http.Request) *query { return &query{v: r.URL.Query()} }

func (q *query) bad(name, msg, typ, input string) {
	q.issues = append(q.issues, validationIssue{Loc: []any{"query", name}, Msg: msg, Type: typ, Input: input})
}

// err returns the 422 for every bad parameter, or nil.
func (q *query) err() error {
	if len(q.issues) == 0 {
		return nil
	}
	return &httpError{status: http.StatusUnprocessableEntity, detail: q.issues}
}

func (q *query) str(name string) string { return q.v.Get(name) }

// list reads a repeated parameter (?x=a&x=b); empty values are dropped.
func (q *query) list(name string) []string {
	var out []string
	for _, v := range q.v[name] {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (q *query) intOr(name string, def, min int) int {
	s := q.v.Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		q.bad(name, "Input should be a valid integer, unable to parse string as an integer", "int_parsing", s)
		return def
	}
	if n < min {
		q.bad(name, "Input should be greater than or equal to "+strconv.Itoa(min), "greater_than_equal", s)
		return def
	}
	return n
}

func (q *query) optInt(name string) *int {
	s := q.v.Get(name)
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		q.bad(name, "Input should be a valid integer, unable to parse string as an integer", "int_parsing", s)
		return nil
	}
	return &n
}

// ints reads a repeated integer parameter (?x=1&x=2).
func (q *query) ints(name string) []int {
	var out []int
	for _, v := range q.list(name) {
		n, err := strconv.Atoi(v)
		if err != nil {
			q.bad(name, "Input should be a valid integer, unable to parse string as an integer", "int_parsing", v)
			continue
		}
		out = append(out, n)
	}
	return out
}

func (q *query) optFloat(name string) *float64 {
	s := q.v.Get(name)
	if s == "" {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		q.bad(name, "Input should be a valid number, unable to parse string as a number", "float_parsing", s)
		return nil
	}
	return &f
}

func (q *query) optBool(name string) *bool {
	s := q.v.Get(name)
	if s == "" {
		return nil
	}
	switch strings.ToLower(s) {
	case "true", "1", "yes", "on", "t", "y":
		b := true
		return &b
	case "false", "0", "no", "off", "f", "n":
		b := false
		return &b
	}
	q.bad(name, "Input should be a valid boolean, unable to interpret input", "bool_parsing", s)
	return nil
}

func (q *query) boolOr(name string, def bool) bool {
	if b := q.optBool(name); b != nil {
		return *b
	}
	return def
}

func (q *query) optTime(name string) *time.Time {
	s := q.v.Get(name)
	if s == "" {
		return nil
	}
	t, err := parseTime(s)
	if err != nil {
		q.bad(name, "Input should be a valid datetime", "datetime_from_date_parsing", s)
		return nil
	}
	return &t
}

// oneOf checks that every value of a list parameter is allowed.
func (q *query) oneOf(name string, vals []string, allowed ...string) {
	for _, v := range vals {
		ok := false
		for _, a := range allowed {
			ok = ok || v == a
		}
		if !ok {
			q.bad(name, "Input should be "+strings.Join(allowed, ", "), "enum", v)
		}
	}
}

// maxPageLimit is Airflow's [api] maximum_page_limit default: a larger
// limit is served as this many.
const maxPageLimit = 100

// page reads limit, offset and order_by (default order first).
func (q *query) page(defaultOrder ...string) metadb.Page {
	p := metadb.Page{Limit: q.intOr("limit", 50, 0), Offset: q.intOr("offset", 0, 0)}
	if p.Limit > maxPageLimit {
		p.Limit = maxPageLimit
	}
	for _, o := range q.v["order_by"] {
		for _, f := range strings.Split(o, ",") {
			if f = strings.TrimSpace(f); f != "" {
				p.OrderBy = append(p.OrderBy, f)
			}
		}
	}
	if len(p.OrderBy) == 0 {
		p.OrderBy = defaultOrder
	}
	return p
}

// pattern turns Airflow's *_pattern parameters (SQL LIKE with % and _, as
// Airflow's) into a case-insensitive match value; "" matches everything.
func (q *query) pattern(name string) string { return q.v.Get(name) }

// parseTime reads an ISO 8601 date-time as pydantic does (a missing zone
// means UTC).
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, &time.ParseError{Layout: time.RFC3339, Value: s}
}
