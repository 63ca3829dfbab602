package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// assetEventDAGs are what Airflow's example_outlet_event_extra,
// example_inlet_event_extra and example_asset_alias do: extras given by
// a yielded Metadata, by outlet_events in a @task and by a classic
// operator's post_execute; readers of an asset's events (inlet_events)
// in Python and in a template; an alias that names its asset at run
// time, with a DAG scheduled on the alias and one on the asset.
const assetEventDAGs = `import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, AssetAlias, Metadata, task

out = Asset(uri="s3://events/1.txt", name="events-asset")
start = pendulum.datetime(2021, 1, 1, tz="UTC")

with DAG(dag_id="extra_by_yield", schedule=None, start_date=start):
    @task(outlets=[out])
    def by_yield():
        yield Metadata(out, {"hi": "yield"})
        yield 7

    by_yield()

with DAG(dag_id="extra_by_context", schedule=None, start_date=start):
    @task(outlets=[out])
    def by_context(*, outlet_events=None):
        outlet_events[out].extra = {"hi": "context"}

    by_context()

def _post(context, result):
    context["outlet_events"][out].extra = {"hi": "post", "result": result}

def _pre(context):
    print("pre_execute ran for", context["ti"].task_id)

def _bad_post(context, result):
    raise ValueError("post_execute says no")

with DAG(dag_id="extra_by_post_execute", schedule=None, start_date=start):
    BashOperator(task_id="classic", outlets=[out], bash_command="echo last-line", pre_execute=_pre, post_execute=_post)

with DAG(dag_id="failing_post_execute", schedule=None, start_date=start):
    BashOperator(task_id="classic", outlets=[out], bash_command="echo x", post_execute=_bad_post)

with DAG(dag_id="read_events", schedule=None, start_date=start):
    @task(inlets=[out])
    def read(*, inlet_events=None):
        return [e.extra["hi"] for e in inlet_events[out]] + [len(inlet_events[out][:-1]), inlet_events[0][-1].source_dag_id]

    @task(inlets=[out])
    def not_an_inlet(*, inlet_events=None):
        try:
            inlet_events[Asset("s3://elsewhere")]
        except KeyError:
            return "KeyError"

    read()
    not_an_inlet()
    BashOperator(task_id="read_in_template", inlets=[out],
                 bash_command="echo '{{ inlet_events.for_asset(uri=\"s3://events/1.txt\")[-1].extra | tojson }}'")

with DAG(dag_id="alias_producer", schedule=None, start_date=start):
    def _through_alias(*, outlet_events=None):
        outlet_events[AssetAlias("example-alias")].add(Asset("s3://bucket/via-alias"), extra={"n": 1})

    PythonOperator(task_id="through_alias", outlets=[AssetAlias("example-alias")], python_callable=_through_alias)

with DAG(dag_id="alias_consumer", schedule=[AssetAlias("example-alias")], start_date=start):
    @task(inlets=[AssetAlias("example-alias")])
    def consume(*, inlet_events=None):
        return [(e.uri, e.extra) for e in inlet_events[AssetAlias("example-alias")]]

    consume()

with DAG(dag_id="alias_asset_consumer", schedule=[Asset("s3://bucket/via-alias")], start_date=start):
    BashOperator(task_id="c", bash_command="echo {{ triggering_asset_events['s3://bucket/via-alias'][0].source_dag_id }}")
`

// TestAssetEventExtrasAndAliases runs the producers one after the other
// and checks the events' extras (API, inlet_events), that a failing
// post_execute fails its try and records no event, and that an alias's
// event triggers the DAGs scheduled on the alias and on the asset.
func TestAssetEventExtrasAndAliases(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.WriteDAG("asset_events.py", assetEventDAGs)
	c.MustRun("users", "create", "-u", "op", "-r", "Op", "-p", "op-pass")
	c.Start("api", "api-server")
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "2")
	c.WaitParsed(60*time.Second, "extra_by_yield", "extra_by_context", "extra_by_post_execute", "failing_post_execute", "read_events",
		"alias_producer", "alias_consumer", "alias_asset_consumer")
	// One producer at a time: the events' order is the runs'.
	for _, id := range []string{"extra_by_yield", "extra_by_context", "extra_by_post_execute", "failing_post_execute"} {
		c.MustRun("dags", "trigger", id, "--run-id", "r1")
		c.WaitRunsFinished(60*time.Second, 1, id)
	}
	if rs := c.Runs("failing_post_execute"); rs[0].State != "failed" {
		t.Errorf("a failing post_execute: run %+v, want failed", rs[0])
	}
	if x := c.XComs("extra_by_yield", "r1"); x["by_yield/return_value"] != "[7]" {
		t.Errorf("a yielding task's return value: %v, want what it yielded besides Metadata", x)
	}
	c.MustRun("dags", "trigger", "read_events", "--run-id", "r1")
	runs := c.WaitRunsFinished(60*time.Second, 1, "read_events")
	if runs["read_events"][0].State != "success" {
		t.Errorf("read_events: %+v, TIs %+v", runs["read_events"], c.TIs("read_events", "r1"))
	}
	x := c.XComs("read_events", "r1")
	if got := x["read/return_value"]; got != `["yield","context","post",2,"extra_by_post_execute"]` {
		t.Errorf("inlet_events in a @task: %s", got)
	}
	if got := x["not_an_inlet/return_value"]; got != `"KeyError"` {
		t.Errorf("inlet_events of an asset that is no inlet: %s", got)
	}
	if got := x["read_in_template/return_value"]; !strings.Contains(got, `\"hi\":\"post\"`) || !strings.Contains(got, `last-line`) {
		t.Errorf("inlet_events in a template: %s", got)
	}

	api := apiClient{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", c.APIPort)}
	waitAPI(t, c)
	api.token = api.login("op", "op-pass")
	var events struct {
		Events []struct {
			Extra       map[string]any `json:"extra"`
			SourceDagID string         `json:"source_dag_id"`
		} `json:"asset_events"`
		Total int `json:"total_entries"`
	}
	code, body := api.do("GET", "/api/v2/assets/events?order_by=timestamp", nil)
	if err := json.Unmarshal(body, &events); code != 200 || err != nil || events.Total != 3 {
		t.Fatalf("asset events: %d %s", code, body)
	}
	for i, want := range []string{"yield", "context", "post"} {
		if events.Events[i].Extra["hi"] != want {
			t.Errorf("event %d: %+v, want extra hi=%s", i, events.Events[i], want)
		}
	}
	if events.Events[2].Extra["result"] != "last-line" {
		t.Errorf("post_execute's result: %+v, want the bash command's last line", events.Events[2].Extra)
	}

	// The alias resolves when its first event names an asset: both the
	// alias's consumer and the asset's run.
	if rs := c.Runs("alias_consumer"); len(rs) != 0 {
		t.Errorf("alias_consumer ran before its alias resolved: %+v", rs)
	}
	c.MustRun("dags", "trigger", "alias_producer", "--run-id", "a1")
	c.WaitRunsFinished(60*time.Second, 1, "alias_producer")
	finished := c.WaitRunsFinished(90*time.Second, 1, "alias_consumer", "alias_asset_consumer")
	for id, rs := range finished {
		if rs[0].State != "success" || rs[0].RunType != "asset_triggered" {
			t.Errorf("%s: %+v, want a successful asset_triggered run", id, rs[0])
		}
	}
	if got := c.XComs("alias_consumer", finished["alias_consumer"][0].RunID)["consume/return_value"]; got != `[["s3://bucket/via-alias",{"n":1}]]` {
		t.Errorf("inlet_events of an alias: %s", got)
	}
	if got := c.XComs("alias_asset_consumer", finished["alias_asset_consumer"][0].RunID)["c/return_value"]; got != `"alias_producer"` {
		t.Errorf("the asset's consumer's triggering event: %s", got)
	}
	var aliases struct {
		Aliases []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"asset_aliases"`
		Total int `json:"total_entries"`
	}
	code, body = api.do("GET", "/api/v2/assets/aliases", nil)
	if err := json.Unmarshal(body, &aliases); code != 200 || err != nil || aliases.Total != 1 || aliases.Aliases[0].Name != "example-alias" {
		t.Fatalf("asset aliases: %d %s", code, body)
	}
	if code, body := api.do("GET", fmt.Sprintf("/api/v2/assets/aliases/%d", aliases.Aliases[0].ID), nil); code != 200 ||
		!strings.Contains(string(body), `"name":"example-alias"`) {
		t.Errorf("one asset alias: %d %s", code, body)
	}
	if code, body := api.do("GET", "/api/v2/assets/aliases/999999", nil); code != 404 {
		t.Errorf("a missing alias: %d %s", code, body)
	}
	code, body = api.do("GET", "/api/v2/assets?uri_pattern=via-alias", nil)
	if code != 200 || !strings.Contains(string(body), `"aliases":[{"id":`) {
		t.Errorf("the alias's asset: %d %s", code, body)
	}
	code, body = api.do("GET", "/api/v2/assets?uri_pattern=events", nil)
	if code != 200 || !strings.Contains(string(body), `"consuming_tasks":[{"dag_id":"read_events"`) {
		t.Errorf("the read asset's consuming tasks: %d %s", code, body)
	}
	code, body = api.do("GET", "/api/v2/dags/alias_consumer/details", nil)
	if code != 200 || !strings.Contains(string(body), `"asset_expression":{"all":[{"alias":{"group":"asset","name":"example-alias"}}]}`) {
		t.Errorf("an alias schedule's asset_expression: %d %s", code, body)
	}
	testenv.Eventually(t, 10*time.Second, "no second run of the alias consumer", func() (bool, string) {
		rs := c.Runs("alias_consumer")
		return len(rs) == 1, fmt.Sprintf("%d runs", len(rs))
	})
}

// assetDecoratorDAGs mirror Airflow's example_asset_decorator: @asset
// functions are DAGs of one task whose parameters name their inlets, and
// @asset.multi makes several assets at once.
const assetDecoratorDAGs = `
from airflow.sdk import Asset, asset, dag, task


@asset(uri="s3://bucket/made", schedule=None, tags=["decorated"])
def made():
    return "made"


@asset(uri="s3://bucket/derived", schedule=None)
def derived(self, context, made):
    events = context["inlet_events"][made]
    context["outlet_events"][Asset.ref(name="derived")].extra = {"via": "ref"}
    by_uri = len(context["inlet_events"][Asset.ref(uri="s3://bucket/made")])
    return [self.name, self.uri, made.uri, len(events), by_uri, events[-1].source_dag_id, context["ti"].task_id]


@asset.multi(schedule=None, outlets=[Asset("part-a"), Asset("part-b")])
def parts():
    pass


@dag(schedule=Asset(uri="s3://bucket/made", name="made") | Asset(uri="s3://bucket/derived", name="derived"))
def on_decorated():
    @task
    def seen(triggering_asset_events=None):
        return {a.uri: evs[-1].extra for a, evs in triggering_asset_events.items()}

    seen()


@dag(schedule=Asset("part-a") & Asset("part-b"))
def on_parts():
    @task
    def all_parts():
        return "both"

    all_parts()


on_decorated()
on_parts()
`

func TestAssetDecorator(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.WriteDAG("asset_decorator.py", assetDecoratorDAGs)
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "2")
	c.WaitParsed(60*time.Second, "made", "derived", "parts", "on_decorated", "on_parts")

	c.MustRun("dags", "trigger", "made", "--run-id", "m1")
	c.WaitRunsFinished(60*time.Second, 1, "made")
	first := c.WaitRunsFinished(90*time.Second, 1, "on_decorated")["on_decorated"][0]
	if first.State != "success" || first.RunType != "asset_triggered" {
		t.Errorf("the consumer of an @asset: %+v, want a successful asset_triggered run", first)
	}
	if got := c.XComs("on_decorated", first.RunID)["seen/return_value"]; got != `{"s3://bucket/made":{}}` {
		t.Errorf("the consumer's triggering events: %s", got)
	}
	c.MustRun("dags", "trigger", "derived", "--run-id", "d1")
	if rs := c.WaitRunsFinished(60*time.Second, 1, "derived")["derived"]; rs[0].State != "success" {
		t.Fatalf("derived: %+v, TIs %+v", rs[0], c.TIs("derived", "d1"))
	}
	if got := c.XComs("derived", "d1")["derived/return_value"]; got != `["derived","s3://bucket/derived","s3://bucket/made",1,1,"made","derived"]` {
		t.Errorf("an @asset's self, context and inlet parameter: %s", got)
	}
	second := ""
	for _, r := range c.WaitRunsFinished(90*time.Second, 2, "on_decorated")["on_decorated"] {
		if r.RunID != first.RunID {
			second = c.XComs("on_decorated", r.RunID)["seen/return_value"]
		}
	}
	if second != `{"s3://bucket/derived":{"via":"ref"}}` {
		t.Errorf("the event of an outlet set through Asset.ref: %s", second)
	}

	c.MustRun("dags", "trigger", "parts", "--run-id", "p1")
	rs := c.WaitRunsFinished(90*time.Second, 1, "on_parts")["on_parts"]
	if rs[0].State != "success" || rs[0].RunType != "asset_triggered" {
		t.Errorf("the consumer of both @asset.multi assets: %+v", rs[0])
	}
}
