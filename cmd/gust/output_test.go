package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestRecordValuesInEveryFormat pins how a listing shows each kind of Go
// value: pointers followed, unknowns blank in tables (no trailing spaces)
// and null in JSON/YAML, times in ISO 8601 with offset, seconds as plain
// numbers, maps as JSON in tables, no list or map null.
func TestRecordValuesInEveryFormat(t *testing.T) {
	secs, zero := 1.5, 0.0
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	var noTime *time.Time
	var noSecs *float64
	rows := []*record{
		newRecord().set("task_id", "a").set("duration", &secs).set("start_date", &at).set("end_date", at.Add(1500*time.Microsecond)).
			set("tags", []string{"x", "y"}).set("conf", map[string]any{"k": map[string]int{"z": 1}}).set("value", []any{1.0, "two"}).
			set("big", 12345678.25).set("ok", true).set("note", "n"),
		newRecord().set("task_id", "b").set("duration", noSecs).set("start_date", noTime).set("end_date", time.Time{}).
			set("tags", []string(nil)).set("conf", map[string]any(nil)).set("value", nil).set("big", &zero).set("ok", false).set("note", nil),
	}
	want := map[string]string{
		"table": `
task_id  duration  start_date                 end_date                          tags  conf           value      big          ok     note
=======  ========  ==========                 ========                          ====  ====           =====      ===          ==     ====
a        1.5       2024-01-02T02:04:05+00:00  2024-01-02T02:04:05.001500+00:00  x, y  {"k":{"z":1}}  [1,"two"]  12345678.25  true   n
b                                                                                     {}                        0            false
`,
		"plain": `
a  1.5  2024-01-02T02:04:05+00:00  2024-01-02T02:04:05.001500+00:00  x, y  {"k":{"z":1}}  [1,"two"]  12345678.25  true   n
b                                                                          {}                        0            false
`,
		"json": `
[
  {
    "task_id": "a",
    "duration": 1.5,
    "start_date": "2024-01-02T02:04:05+00:00",
    "end_date": "2024-01-02T02:04:05.001500+00:00",
    "tags": [
      "x",
      "y"
    ],
    "conf": {
      "k": {
        "z": 1
      }
    },
    "value": [
      1,
      "two"
    ],
    "big": 12345678.25,
    "ok": true,
    "note": "n"
  },
  {
    "task_id": "b",
    "duration": null,
    "start_date": null,
    "end_date": null,
    "tags": [],
    "conf": {},
    "value": null,
    "big": 0,
    "ok": false,
    "note": null
  }
]
`,
		"yaml": `
- task_id: a
  duration: 1.5
  start_date: "2024-01-02T02:04:05+00:00"
  end_date: "2024-01-02T02:04:05.001500+00:00"
  tags:
    - x
    - "y"
  conf:
    k:
      z: 1
  value:
    - 1
    - two
  big: 1.234567825e+07
  ok: true
  note: "n"
- task_id: b
  duration: null
  start_date: null
  end_date: null
  tags: []
  conf: {}
  value: null
  big: 0
  ok: false
  note: null
`,
	}
	for _, format := range []string{"table", "plain", "json", "yaml"} {
		var b bytes.Buffer
		if err := printRecords(&b, format, rows); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if got := b.String(); got != strings.TrimPrefix(want[format], "\n") {
			t.Errorf("-o %s:\n%s\nwant:\n%s", format, got, strings.TrimPrefix(want[format], "\n"))
		}
	}
}

// TestStatesForDagRunShowsSeconds runs `tasks states-for-dag-run` on a real
// run: the duration is seconds (blank while unknown), never a pointer.
func TestStatesForDagRunShowsSeconds(t *testing.T) {
	in := setup(t, true)
	in.writeDAG("two.yaml", `
two:
  schedule: null
  tasks:
    a: {operator: empty}
    b: {operator: empty, dependencies: [a]}
`)
	in.mustRun("dags", "reserialize")
	in.mustRun("dags", "trigger", "two", "--run-id", "r1", "--logical-date", "2024-01-01")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, in.sqlConn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE task_instance SET state = 'success', try_number = 1, hostname = 'h1',
		start_date = '2024-01-01T00:00:10Z', end_date = '2024-01-01T00:00:11.5Z', duration = 1.5
		WHERE dag_id = 'two' AND run_id = 'r1' AND task_id = 'a'`); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"table": `
dag_id  run_id  task_id  map_index  state    try_number  max_tries  execution_date             logical_date               start_date                 end_date                          duration  hostname  operator  pool          queue    priority_weight
======  ======  =======  =========  =====    ==========  =========  ==============             ============               ==========                 ========                          ========  ========  ========  ====          =====    ===============
two     r1      a        -1         success  1           0          2024-01-01T00:00:00+00:00  2024-01-01T00:00:00+00:00  2024-01-01T00:00:10+00:00  2024-01-01T00:00:11.500000+00:00  1.5       h1        empty     default_pool  default  2
two     r1      b        -1                  0           0          2024-01-01T00:00:00+00:00  2024-01-01T00:00:00+00:00                                                                                   empty     default_pool  default  1
`,
		"plain": `
two  r1  a  -1  success  1  0  2024-01-01T00:00:00+00:00  2024-01-01T00:00:00+00:00  2024-01-01T00:00:10+00:00  2024-01-01T00:00:11.500000+00:00  1.5  h1  empty  default_pool  default  2
two  r1  b  -1           0  0  2024-01-01T00:00:00+00:00  2024-01-01T00:00:00+00:00                                                                        empty  default_pool  default  1
`,
	}
	for format, w := range want {
		if got := in.mustRun("tasks", "states-for-dag-run", "two", "r1", "-o", format); got != strings.TrimPrefix(w, "\n") {
			t.Errorf("-o %s:\n%s\nwant:\n%s", format, got, strings.TrimPrefix(w, "\n"))
		}
	}
	js := in.mustRun("tasks", "states-for-dag-run", "two", "r1", "-o", "json")
	for _, w := range []string{`"duration": 1.5,`, `"duration": null,`, `"start_date": "2024-01-01T00:00:10+00:00",`, `"start_date": null,`, `"state": null,`} {
		if !strings.Contains(js, w) {
			t.Errorf("-o json lacks %s:\n%s", w, js)
		}
	}
	ym := in.mustRun("tasks", "states-for-dag-run", "two", "r1", "-o", "yaml")
	for _, w := range []string{"  duration: 1.5\n", "  duration: null\n", `  end_date: "2024-01-01T00:00:11.500000+00:00"` + "\n"} {
		if !strings.Contains(ym, w) {
			t.Errorf("-o yaml lacks %q:\n%s", w, ym)
		}
	}
}
