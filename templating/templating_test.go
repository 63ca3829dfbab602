package templating

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/common/connection"
)

func renderer() *Renderer {
	ld := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
	prev := ld.Add(-24 * time.Hour)
	return New(Input{
		DagID: "d", TaskID: "t", RunID: "scheduled__2024-03-05T00:00:00+00:00", RunType: "scheduled",
		LogicalDate: ld, DataIntervalStart: ld, DataIntervalEnd: ld.Add(24 * time.Hour),
		PrevSuccessStart: &prev, PrevSuccessEnd: &ld, TryNumber: 2,
		Conf:   map[string]any{"who": "conf"},
		Params: map[string]any{"n": 3, "name": "x"},
		Variable: func(k string) (string, bool, error) {
			switch k {
			case "plain":
				return "hello", true, nil
			case "cfg":
				return `{"region": "eu", "ids": [1, 2]}`, true, nil
			}
			return "", false, nil
		},
		Connection: func(id string) (*connection.Connection, error) {
			if id == "db" {
				return &connection.Connection{ConnID: "db", ConnType: "postgres", Host: "h.example", Port: 5432, Login: "u", Password: "pw"}, nil
			}
			return nil, nil
		},
		XCom: func(dagID, taskID, key string) (any, bool, error) {
			if dagID == "d" && (taskID == "up" || taskID == "") && key == "return_value" {
				return "42", true, nil
			}
			if taskID == "up" && (key == "extra" || key == "") {
				return map[string]any{"a": 1.0}, true, nil
			}
			if taskID == "boom" {
				return nil, false, errors.New("database away")
			}
			return nil, false, nil
		},
	})
}

// TestAirflowContext checks the strings Airflow 2 renders for the same
// templates and dates.
func TestAirflowContext(t *testing.T) {
	r := renderer()
	cases := map[string]string{
		"{{ ds }}":                                             "2024-03-05",
		"{{ ds_nodash }}":                                      "20240305",
		"{{ task_instance_key_str }}":                          "d__t__20240305",
		"{{ ts }}":                                             "2024-03-05T00:00:00+00:00",
		"{{ ts_nodash }}":                                      "20240305T000000",
		"{{ ts_nodash_with_tz }}":                              "20240305T000000+0000",
		"{{ logical_date }}":                                   "2024-03-05T00:00:00+00:00",
		"{{ data_interval_end }}":                              "2024-03-06T00:00:00+00:00",
		"{{ prev_data_interval_start_success }}":               "2024-03-04T00:00:00+00:00",
		"{{ data_interval_start.strftime('%Y/%m') }}":          "2024/03",
		"{{ logical_date.year }}":                              "2024",
		"{{ run_id }}":                                         "scheduled__2024-03-05T00:00:00+00:00",
		"{{ dag_run.conf.who }}":                               "conf",
		"{{ dag_run.conf['who'] }}":                            "conf",
		"{{ params.n * 2 }}":                                   "6",
		"{{ ti.try_number }}":                                  "2",
		"{{ task_instance.task_id }}":                          "t",
		"{{ ti.xcom_pull(task_ids='up') }}":                    "42",
		"{{ ti.xcom_pull('up') }}":                             "42",
		"{{ ti.xcom_pull(task_ids='up', key='extra').a }}":     "1",
		"{{ ti.xcom_pull(task_ids='up', key=None).a }}":        "1",
		"{{ ti.xcom_pull(task_ids=['up', 'none'])[0] }}":       "42",
		"{{ ti.xcom_pull(task_ids=['up', 'none']) | length }}": "2",
		"{{ var.value.plain }}":                                "hello",
		"{{ var.json.cfg.region }}":                            "eu",
		"{{ conn.db.host }}:{{ conn.db.port }}":                "h.example:5432",
		"{{ macros.ds_add(ds, 5) }}":                           "2024-03-10",
		"{{ macros.ds_add(ds, -5) }}":                          "2024-02-29",
		"{{ macros.ds_format(ds, '%Y-%m-%d', '%d.%m.%Y') }}":   "05.03.2024",
		"{% for i in range(3) %}{{ i }}{% endfor %}":           "012",
		"{{ 'a-b' | upper }} no template here":                 "A-B no template here",
		"{{ data_interval_end | ds }}":                         "2024-03-06",
		"{{ data_interval_end | ts_nodash }}":                  "20240306T000000",
		"echo plain":                                           "echo plain",
	}
	for tpl, want := range cases {
		got, err := r.Render("bash_command", tpl)
		if err != nil {
			t.Errorf("%s: %v", tpl, err)
			continue
		}
		if got != want {
			t.Errorf("%s = %q, want %q", tpl, got, want)
		}
	}
}

func TestTemplateErrorsAreClear(t *testing.T) {
	r := renderer()
	for tpl, want := range map[string]string{
		"{{ nope }}":                          "nope",
		"{{ var.value.missing }}":             "variable missing does not exist",
		"{{ conn.nodb.host }}":                "nodb",
		"{{ ds ":                              "bash_command",
		"{{ ti.xcom_pull(task_ids='boom') }}": "database away",
	} {
		_, err := r.Render("bash_command", tpl)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to mention %q", tpl, err, want)
		}
	}
}

// TestXComPushInTemplates checks Airflow's ti.xcom_push(key, value) in a
// template (example_xcom's bash_push): it renders as nothing and the value
// is the try's XCom under key.
func TestXComPushInTemplates(t *testing.T) {
	r := renderer()
	got, err := r.Render("bash_command", `echo "pushed {{ ti.xcom_push(key="manual", value="v1") }}{{ ti.xcom_push('n', {'a': [1, 2]}) }}"`)
	if err != nil {
		t.Fatal(err)
	}
	if got != `echo "pushed "` {
		t.Errorf("rendered %q", got)
	}
	p := r.Pushed()
	if p["manual"] != "v1" || fmt.Sprint(p["n"]) != "map[a:[1 2]]" {
		t.Errorf("pushed %v", p)
	}
	if _, err := r.Render("bash_command", "{{ ti.xcom_push(value=1) }}"); err == nil || !strings.Contains(err.Error(), "needs a key") {
		t.Errorf("xcom_push without a key: %v", err)
	}
}

// TestInletEvents checks Airflow's inlet_events in templates: an inlet's
// events by URI or name, oldest first, and an error for an asset or alias
// the task does not read.
func TestInletEvents(t *testing.T) {
	var asked []string
	r := New(Input{
		DagID: "d", TaskID: "t", LogicalDate: time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC),
		InletAssets:  map[string]string{"s3://out/1.txt": "s3://out/1.txt", "one": "s3://out/1.txt"},
		InletAliases: []string{"al"},
		AssetEvents: func(uri, alias string) ([]any, error) {
			asked = append(asked, uri+"|"+alias)
			return []any{map[string]any{"extra": map[string]any{"hi": "first"}}, map[string]any{"extra": map[string]any{"hi": "bye"}}}, nil
		},
	})
	cases := map[string]string{
		`{{ inlet_events.for_asset(uri='s3://out/1.txt')[-1].extra | tojson }}`: `{"hi":"bye"}`,
		`{{ inlet_events.for_asset(name='one')[0].extra.hi }}`:                  "first",
		`{{ inlet_events.for_asset_alias(name='al') | length }}`:                "2",
	}
	for tpl, want := range cases {
		got, err := r.Render("t", tpl)
		if err != nil || strings.ReplaceAll(got, " ", "") != want {
			t.Errorf("%s = %q, %v; want %q", tpl, got, err, want)
		}
	}
	slices.Sort(asked)
	if want := []string{"s3://out/1.txt|", "s3://out/1.txt|", "|al"}; !slices.Equal(asked, want) {
		t.Errorf("asked for %v, want %v", asked, want)
	}
	for _, tpl := range []string{`{{ inlet_events.for_asset(uri='s3://other') }}`, `{{ inlet_events.for_asset_alias(name='x') }}`} {
		if _, err := r.Render("t", tpl); err == nil || !strings.Contains(err.Error(), "not an inlet") {
			t.Errorf("%s: err %v, want not an inlet", tpl, err)
		}
	}
}

// TestWith checks a renderer with more names (a mapped try's
// map_index_template): they are added, replace what they share, and leave
// the original renderer as it was.
func TestWith(t *testing.T) {
	r := renderer()
	w := r.With(map[string]any{"label": "item-3", "task": map[string]any{"env": map[string]any{"F": "a.csv"}}, "n": 2.0})
	for tpl, want := range map[string]string{
		"{{ label }}/{{ n }}": "item-3/2",
		"{{ task.env['F'] }}": "a.csv",
		"{{ ds }}":            "2024-03-05",
	} {
		if got, err := w.Render("map_index_template", tpl); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", tpl, got, err, want)
		}
	}
	if _, err := r.Render("x", "{{ label }}"); err == nil {
		t.Error("the original renderer sees a name added With")
	}
}
