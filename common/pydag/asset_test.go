package pydag

import (
	"context"
	"fmt"
	"testing"
)

// TestAssets reads a Python file's assets: outlets, a list schedule (all),
// & and | conditions, Airflow 2's Dataset, and airflow.sdk.definitions.asset.
func TestAssets(t *testing.T) {
	p, dir := newParser(t)
	src := `import datetime
from airflow.sdk import DAG, Asset
from airflow.datasets import Dataset
from airflow.sdk.definitions.asset import AssetAll
from airflow.providers.standard.operators.bash import BashOperator
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

a = Asset("s3://a", extra={"k": 1})
b = Asset(name="b", uri="s3://b")
c = Dataset("s3://c")
with DAG("producer", schedule=None):
    BashOperator(task_id="t", bash_command="x", outlets=[a, Asset(name="only-a-name")])
with DAG("list", schedule=[a, b]):
    BashOperator(task_id="t", bash_command="x")
with DAG("expr", schedule=a | (b & c)):
    BashOperator(task_id="t", bash_command="x")
with DAG("all", schedule=AssetAll(a, c)):
    BashOperator(task_id="t", bash_command="x")
with DAG("or_time", start_date=datetime.datetime(2024, 1, 1), schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 1 * * 3", timezone="UTC"), assets=(a & b))):
    BashOperator(task_id="t", bash_command="x")
`
	res, err := p.Parse(context.Background(), write(t, dir, "assets.py", src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"or_time": "(s3://a & s3://b)", "list": "(s3://a & s3://b)", "expr": "(s3://a | (s3://b & s3://c))", "all": "(s3://a & s3://c)"}
	for _, d := range res.DAGs {
		if d.DagID == "producer" {
			o := d.Tasks[0].Outlets
			if len(o) != 2 || o[0].URI != "s3://a" || fmt.Sprint(o[0].Extra["k"]) != "1" || o[1].URI != "only-a-name" || o[1].Name != "only-a-name" || d.AssetSchedule != nil {
				t.Errorf("producer: outlets %+v, schedule %v", o, d.AssetSchedule)
			}
			continue
		}
		if d.AssetSchedule == nil || d.AssetSchedule.String() != want[d.DagID] {
			t.Errorf("%s: %v, want %s", d.DagID, d.AssetSchedule, want[d.DagID])
		}
	}
	for _, d := range res.DAGs {
		if d.DagID == "or_time" && (d.Schedule != "0 1 * * 3" || d.ScheduleSummary() != "Asset or 0 1 * * 3") {
			t.Errorf("or_time: schedule %q, summary %q", d.Schedule, d.ScheduleSummary())
		}
	}
	if len(res.DAGs) != 5 {
		t.Errorf("%d DAGs", len(res.DAGs))
	}
}

// TestAssetAliasesAndHooks reads aliases (outlets, schedule, inlets, Airflow
// 2's DatasetAlias), inlets in order, and a classic operator's pre_execute
// and post_execute.
func TestAssetAliasesAndHooks(t *testing.T) {
	p, dir := newParser(t)
	src := `from airflow.sdk import DAG, Asset, AssetAlias, Metadata
from airflow.datasets import DatasetAlias
from airflow.providers.standard.operators.bash import BashOperator

def hook(context, result=None):
    pass

with DAG("producer", schedule=None):
    BashOperator(task_id="t", bash_command="x", outlets=[Asset("s3://a"), AssetAlias("al", group="g")],
                 inlets=[DatasetAlias("other"), Asset("s3://in")], pre_execute=hook, post_execute=hook)
with DAG("consumer", schedule=[AssetAlias("al")] ):
    BashOperator(task_id="t", bash_command="x")
with DAG("either", schedule=AssetAlias("al") | Asset("s3://a")):
    BashOperator(task_id="t", bash_command="x")
`
	res, err := p.Parse(context.Background(), write(t, dir, "aliases.py", src))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range res.DAGs {
		if d.AssetSchedule != nil {
			got[d.DagID] = d.AssetSchedule.String()
			continue
		}
		tk := d.Tasks[0]
		got[d.DagID] = fmt.Sprintf("outlets %v aliases %v inlets %s %s hooks %v", tk.Outlets[0].URI, tk.OutletAliases,
			tk.Inlets[0].Alias.Name, tk.Inlets[1].Asset.URI, tk.ExecuteHooks)
	}
	want := map[string]string{
		"producer": "outlets s3://a aliases [{al g}] inlets other s3://in hooks [pre_execute post_execute]",
		"consumer": "(AssetAlias(al))", "either": "(AssetAlias(al) | s3://a)",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}
