package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
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

func (r *record) set(k string, v any) *record {
	if _, ok := r.values[k]; !ok {
		r.keys = append(r.keys, k)
	}
	r.values[k] = v
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
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
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
		return tw.Flush()
	default:
		return fmt.Errorf("unknown output format %q (use table, json, yaml or plain)", format)
	}
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case []string:
		return strings.Join(x, ", ")
	case map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

// isoTime renders a time as Python's isoformat in UTC, nil as null.
func isoTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	u := t.UTC()
	if u.Nanosecond()/1000 != 0 {
		return u.Format("2006-01-02T15:04:05.000000") + "+00:00"
	}
	return u.Format("2006-01-02T15:04:05") + "+00:00"
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
