package main

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"
)

// outputFlag is the -o flag of listings, as Airflow's.
var outputFlag = &cli.StringFlag{
	Name:    "output",
	Aliases: []string{"o"},
	Value:   "table",
	Usage:   "output format: table, json, yaml or plain",
}

// record is one row of a listing: ordered columns.
type record struct {
	keys   []string
	values map[string]any
}

func newRecord() *record { return &record{values: map[string]any{}} }

// set adds or replaces column k. The value is stored as every format shows
// it (see column), so that no command has to render values itself.
func (r *record) set(k string, v any) *record {
	if _, ok := r.values[k]; !ok {
		r.keys = append(r.keys, k)
	}
	r.values[k] = column(v)
	return r
}

func (r *record) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range r.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(r.values[k])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// printRecords writes rows in the requested format. JSON is an array
// (empty when there are no rows), as Airflow's.
func printRecords(w io.Writer, format string, rows []*record) error {
	switch format {
	case "json":
		if rows == nil {
			rows = []*record{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "yaml":
		var out []yaml.Node
		for _, r := range rows {
			n := yaml.Node{Kind: yaml.MappingNode}
			for _, k := range r.keys {
				var v yaml.Node
				if err := v.Encode(r.values[k]); err != nil {
					return err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &v)
			}
			out = append(out, n)
		}
		if out == nil {
			_, err := fmt.Fprintln(w, "[]")
			return err
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		defer enc.Close()
		return enc.Encode(out)
	case "table", "plain":
		if len(rows) == 0 {
			if format == "table" {
				_, err := fmt.Fprintln(w, "No data found")
				return err
			}
			return nil
		}
		var b strings.Builder
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		keys := rows[0].keys
		if format == "table" {
			fmt.Fprintln(tw, strings.Join(keys, "\t"))
			seps := make([]string, len(keys))
			for i, k := range keys {
				seps[i] = strings.Repeat("=", len(k))
			}
			fmt.Fprintln(tw, strings.Join(seps, "\t"))
		}
		for _, r := range rows {
			cells := make([]string, len(keys))
			for i, k := range keys {
				cells[i] = cell(r.values[k])
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		// Blank cells at the end of a row would leave it padded with spaces.
		lines := strings.SplitAfter(b.String(), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimRight(l, " \n")
		}
		_, err := io.WriteString(w, strings.Join(lines[:len(lines)-1], "\n")+"\n")
		return err
	default:
		return fmt.Errorf("unknown output format %q (use table, json, yaml or plain)", format)
	}
}

// column is the value of a column as JSON and YAML show it: a pointer is
// what it points to, nil (or a zero time) is null, a time is Airflow's ISO
// 8601 in UTC with its offset, a duration is seconds; numbers, booleans,
// strings, lists and maps keep their types.
func column(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		if x.IsZero() {
			return nil
		}
		return isoformat(x)
	case time.Duration:
		return x.Seconds()
	case json.RawMessage:
		var y any
		if json.Unmarshal(x, &y) != nil {
			return string(x)
		}
		return y
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return column(rv.Elem().Interface())
	case reflect.Slice:
		// A list column is never unknown: none is [], in JSON as in YAML.
		if rv.IsNil() && rv.Type().Elem().Kind() != reflect.Uint8 {
			return reflect.MakeSlice(rv.Type(), 0, 0).Interface()
		}
	case reflect.Map:
		if rv.IsNil() {
			return reflect.MakeMap(rv.Type()).Interface()
		}
	}
	return v
}

// cell is a column's value in a table or plain listing: blank when unknown,
// numbers as written in JSON (seconds as 1.5, never 1.5e+00), lists of
// strings joined with commas, other lists and maps as compact JSON.
func cell(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		s = x
	case []string:
		s = strings.Join(x, ", ")
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		s = strconv.FormatFloat(float64(x), 'f', -1, 32)
	default:
		switch reflect.ValueOf(v).Kind() {
		case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct:
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Sprint(v)
			}
			s = string(b)
		default:
			s = fmt.Sprint(v)
		}
	}
	// A tab would end the cell early in the aligned columns.
	return strings.ReplaceAll(s, "\t", " ")
}

// isoformat renders a time as Python's isoformat in UTC, as Airflow's
// listings show times: microseconds only when there are any.
func isoformat(t time.Time) string {
	u := t.UTC()
	if u.Nanosecond()/1000 != 0 {
		return u.Format("2006-01-02T15:04:05.000000") + "+00:00"
	}
	return u.Format("2006-01-02T15:04:05") + "+00:00"
}
