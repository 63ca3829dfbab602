package dagspec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAssetSchedules reads asset schedules and outlets in dag-factory's
// forms and a Python file's: a list (all), __type__ mappings, condition
// strings with & binding tighter than |, __and__ / __or__ trees; and
// evaluates the conditions.
func TestAssetSchedules(t *testing.T) {
	t.Parallel()
	cond := func(sched string) *DAG {
		t.Helper()
		src := "d:\n  start_date: 2024-01-01\n  schedule: " + sched + "\n  tasks:\n    a: {operator: bash, bash_command: x, outlets: ['s3://o', {uri: 's3://p', name: p, extra: {k: 1}}]}\n"
		dags, err := Parse("a.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", sched, err)
		}
		return dags[0]
	}
	cases := map[string]string{
		"['s3://a', 's3://b']": "(s3://a & s3://b)",
		"[{__type__: airflow.sdk.Asset, uri: 's3://a', name: n}]":                   "(s3://a)",
		"{__type__: airflow.datasets.Dataset, uri: 's3://a'}":                       "s3://a",
		"{datasets: 's3://a | s3://b & s3://c'}":                                    "(s3://a | (s3://b & s3://c))",
		"{datasets: '((s3://a & s3://b) | s3://c)'}":                                "((s3://a & s3://b) | s3://c)",
		"{assets: {__or__: [{__and__: ['s3://a', 's3://b']}, 's3://c']}}":           "((s3://a & s3://b) | s3://c)",
		"{__gust_assets__: {__and__: [{uri: 's3://a', name: a}, {uri: 's3://b'}]}}": "(s3://a & s3://b)",
	}
	for sched, want := range cases {
		d := cond(sched)
		if d.AssetSchedule == nil || d.AssetSchedule.String() != want || d.Schedule != "" || d.ScheduleSummary() != "Asset" {
			t.Errorf("%s: %v (schedule %q), want %s", sched, d.AssetSchedule, d.Schedule, want)
		}
	}
	d := cond("['s3://a']")
	if o := d.Tasks[0].Outlets; len(o) != 2 || o[0].Name != "s3://o" || o[1].Name != "p" || o[1].URI != "s3://p" || o[1].Extra["k"] != 1 || o[0].Group != "asset" {
		t.Errorf("outlets: %+v", o)
	}
	c := cond("{datasets: '(s3://a & s3://b) | s3://c'}").AssetSchedule
	for set, want := range map[string]bool{"s3://a": false, "s3://a s3://b": true, "s3://c": true, "s3://b": false, "": false} {
		got := c.Eval(func(uri string) bool { return strings.Contains(" "+set+" ", " "+uri+" ") }, func(string) []string { return nil })
		if got != want {
			t.Errorf("%s with %q updated: %v, want %v", c, set, got, want)
		}
	}
	if as := c.Assets(); len(as) != 3 || as[0].URI != "s3://a" {
		t.Errorf("assets of %s: %+v", c, as)
	}
	for sched, msg := range map[string]string{
		"{datasets: 's3://a &'}":                "ends too early",
		"{datasets: '(s3://a'}":                 "missing )",
		"{datasets: 's3://a s3://b'}":           "unexpected s3://b",
		"{file: x.yml, datasets: [a]}":          "config file",
		"[{__type__: airflow.sdk.Foo, uri: x}]": "not an asset type",
		"[{uri: x, colour: red}]":               `unknown asset argument "colour"`,
		"{datasets: {__and__: []}}":             "non-empty list",
	} {
		src := "d:\n  start_date: 2024-01-01\n  schedule: " + sched + "\n  tasks:\n    a: {operator: bash, bash_command: x}\n"
		if _, err := Parse("a.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want an error containing %q", sched, err, msg)
		}
	}
	if _, err := Parse("a.yaml", []byte("d:\n  schedule: null\n  tasks:\n    a: {operator: bash, bash_command: x, outlets: 's3://a'}\n")); err == nil ||
		!strings.Contains(err.Error(), "outlets: a list of assets") {
		t.Errorf("outlets as a string: %v", err)
	}
}

// TestAliasEval: an alias holds when an asset it resolved to was updated,
// never while it resolved to none.
func TestAliasEval(t *testing.T) {
	c, err := parseAssetExpr("s3://x")
	if err != nil {
		t.Fatal(err)
	}
	cond := AssetCond{All: []AssetCond{*c, {Alias: &AssetAlias{Name: "al"}}}}
	updated := func(uri string) bool { return uri == "s3://x" || uri == "s3://via" }
	for resolved, want := range map[string]bool{"": false, "s3://other": false, "s3://via": true} {
		got := cond.Eval(updated, func(name string) []string {
			if name != "al" || resolved == "" {
				return nil
			}
			return []string{resolved}
		})
		if got != want {
			t.Errorf("alias resolved to %q: %v, want %v", resolved, got, want)
		}
	}
	if al := cond.Aliases(); len(al) != 1 || al[0].Name != "al" || cond.String() != "(s3://x & AssetAlias(al))" {
		t.Errorf("aliases %v, string %s", al, cond.String())
	}
}

// TestAssetConfigFile reads dag-factory's {file: config, datasets: ...}
// form in outlets and schedules (a list, a condition string, or/and
// mappings and the !or/!and tags), the names turned into the config's URIs.
func TestAssetConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfg := "datasets:\n  - name: one\n    uri: s3://b/one\n  - name: two\n    uri: s3://b/two\n  - name: three\n    uri: s3://b/three\n"
	if err := os.WriteFile(filepath.Join(dir, "assets.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	task := "  tasks:\n    t:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: echo\n"
	src := "producer:\n  schedule: null\n  tasks:\n    t:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: echo\n" +
		"      outlets:\n        file: assets.yml\n        datasets: [one, two]\n" +
		"by_list:\n  schedule:\n    file: assets.yml\n    datasets: [one, two]\n" + task +
		"by_string:\n  schedule:\n    file: " + filepath.Join(dir, "assets.yml") + "\n    datasets: \"(one & two) | three\"\n" + task +
		"by_mapping:\n  schedule:\n    file: assets.yml\n    datasets:\n      or:\n        - and: [one, two]\n        - three\n" + task +
		"by_tags:\n  schedule:\n    datasets: !or [!and [s3://b/one, s3://b/two], s3://b/three]\n" + task
	dags, err := ParseWith(filepath.Join(dir, "dags.yml"), []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range dags {
		if d.AssetSchedule != nil {
			got[d.DagID] = d.AssetSchedule.String()
		}
	}
	if out := dags[0].Tasks[0].Outlets; len(out) != 2 || out[0].URI != "s3://b/one" || out[1].URI != "s3://b/two" {
		t.Errorf("outlets: %+v", out)
	}
	cond := "((s3://b/one & s3://b/two) | s3://b/three)"
	want := map[string]string{"by_list": "(s3://b/one & s3://b/two)", "by_string": cond, "by_mapping": cond, "by_tags": cond}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
	for name, bad := range map[string]string{
		"unknown name":   "d:\n  schedule:\n    file: assets.yml\n    datasets: [four]\n" + task,
		"missing file":   "d:\n  schedule:\n    file: nope.yml\n    datasets: [one]\n" + task,
		"no datasets":    "d:\n  schedule:\n    file: assets.yml\n" + task,
		"outlet unknown": "d:\n  tasks:\n    t:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: echo\n      outlets: {file: assets.yml, datasets: [four]}\n",
	} {
		if _, err := ParseWith(filepath.Join(dir, "dags.yml"), []byte(bad), Options{}); err == nil {
			t.Errorf("%s: parsed, want an error", name)
		}
	}
}
