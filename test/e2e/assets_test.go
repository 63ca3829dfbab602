package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// assetDAGs are Airflow's example_assets DAGs (producers, a consumer of one
// asset, of both, and & / | conditions), with dag-factory's YAML forms.
const assetDAGs = `import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Asset, task

a1 = Asset("s3://dag1/output_1.txt", extra={"hi": "bye"})
a2 = Asset("s3://dag2/output_1.txt", extra={"hi": "bye"})
a3 = Asset("s3://dag3/output_3.txt")
start = pendulum.datetime(2021, 1, 1, tz="UTC")

with DAG(dag_id="asset_produces_1", schedule=None, start_date=start):
    BashOperator(outlets=[a1], task_id="producing_task_1", bash_command="echo 1")
with DAG(dag_id="asset_produces_2", schedule=None, start_date=start):
    BashOperator(outlets=[a2], task_id="producing_task_2", bash_command="echo 2")
with DAG(dag_id="asset_consumes_1", schedule=[a1], start_date=start):
    BashOperator(outlets=[Asset("s3://consuming_1_task/asset_other.txt")], task_id="consuming_1",
                 bash_command="echo {{ triggering_asset_events['s3://dag1/output_1.txt'][0].source_dag_id }}")
with DAG(dag_id="asset_consumes_1_and_2", schedule=[a1, a2], start_date=start):
    BashOperator(task_id="consuming_2", bash_command="echo c2")
with DAG(dag_id="consume_1_or_2_with_asset_expressions", schedule=(a1 | a2), start_date=start):
    BashOperator(task_id="c", bash_command="echo or")
with DAG(dag_id="consume_1_or_both_2_and_3_with_asset_expressions", schedule=(a1 | (a2 & a3)), start_date=start):
    BashOperator(task_id="c", bash_command="echo complex")
with DAG(dag_id="asset_consumes_other", schedule=[Asset("s3://consuming_1_task/asset_other.txt")], start_date=start):
    @task
    def read(triggering_asset_events=None):
        evs = triggering_asset_events[Asset("s3://consuming_1_task/asset_other.txt")]
        return [e.source_dag_id + "." + e.source_task_id for e in evs] + [a.uri for a in triggering_asset_events]

    read()
`

// TestAssets runs producers and watches their consumers: a run per
// satisfied condition (asset_triggered), none while a condition waits,
// none created twice by two schedulers, a consumer's own outlet triggering
// the next; YAML outlets and asset schedules in dag-factory's forms.
func TestAssets(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.WriteDAG("assets.py", assetDAGs)
	c.WriteDAG("yaml_assets.yml", `
default:
  default_args: {start_date: 2025-01-01}
yaml_producer:
  schedule: null
  tasks:
    produce:
      operator: bash
      bash_command: echo p
      outlets:
        - __type__: airflow.sdk.Asset
          uri: "file:///data/data.csv"
          name: data_asset
    produce_raw: {operator: bash, bash_command: echo r, outlets: ['s3://bucket/raw.json']}
yaml_consumer:
  schedule:
    - __type__: airflow.sdk.Asset
      uri: "file:///data/data.csv"
      name: data_asset
  tasks:
    consume: {operator: bash, bash_command: echo c}
yaml_condition:
  schedule:
    datasets: "(file:///data/data.csv & s3://bucket/raw.json) | s3://never"
  tasks:
    consume: {operator: bash, bash_command: echo c}
yaml_nested:
  schedule:
    datasets:
      __or__:
        - __and__: ["s3://never", "s3://bucket/raw.json"]
        - "s3://never-either"
  tasks:
    consume: {operator: bash, bash_command: echo c}
`)
	c.MustRun("users", "create", "-u", "op", "-r", "Op", "-p", "op-pass")
	c.Start("api", "api-server")
	c.Start("scheduler-1", "scheduler")
	c.Start("scheduler-2", "scheduler")
	c.Start("worker", "worker", "-c", "4")
	consumers := []string{"asset_consumes_1", "asset_consumes_1_and_2", "consume_1_or_2_with_asset_expressions",
		"consume_1_or_both_2_and_3_with_asset_expressions", "asset_consumes_other", "yaml_consumer", "yaml_condition", "yaml_nested"}
	c.WaitParsed(60*time.Second, append([]string{"asset_produces_1", "asset_produces_2", "yaml_producer"}, consumers...)...)
	if out := c.MustRun("dags", "list", "-o", "plain"); !strings.Contains(out, "Asset") {
		t.Errorf("dags list does not show the asset schedule:\n%s", out)
	}

	c.MustRun("dags", "trigger", "asset_produces_1", "--run-id", "p1")
	c.MustRun("dags", "trigger", "yaml_producer", "--run-id", "y1")
	c.WaitRunsFinished(60*time.Second, 1, "asset_produces_1", "yaml_producer")
	// a1 alone: consumes_1, the | condition and the complex one run once;
	// consumes_1's outlet then runs asset_consumes_other; both YAML
	// consumers whose conditions hold run.
	finished := c.WaitRunsFinished(90*time.Second, 1, "asset_consumes_1", "consume_1_or_2_with_asset_expressions",
		"consume_1_or_both_2_and_3_with_asset_expressions", "asset_consumes_other", "yaml_consumer", "yaml_condition")
	for id, rs := range finished {
		if len(rs) != 1 || rs[0].State != "success" || rs[0].RunType != "asset_triggered" || !strings.HasPrefix(rs[0].RunID, "asset_triggered__") {
			t.Errorf("%s: runs %+v, want one successful asset_triggered run", id, rs)
		}
	}
	// What triggered a run reaches its templates and its Python tasks.
	if x := c.XComs("asset_consumes_1", finished["asset_consumes_1"][0].RunID); x["consuming_1/return_value"] != `"asset_produces_1"` {
		t.Errorf("triggering_asset_events in a template: %v", x)
	}
	if x := c.XComs("asset_consumes_other", finished["asset_consumes_other"][0].RunID); x["read/return_value"] !=
		`["asset_consumes_1.consuming_1","s3://consuming_1_task/asset_other.txt"]` {
		t.Errorf("triggering_asset_events in a @task: %v", x)
	}
	for _, id := range []string{"asset_consumes_1_and_2", "yaml_nested"} {
		if rs := c.Runs(id); len(rs) != 0 {
			t.Errorf("%s ran before its condition held: %+v", id, rs)
		}
	}
	// a2 completes consumes_1_and_2 and triggers the | one again.
	c.MustRun("dags", "trigger", "asset_produces_2", "--run-id", "p2")
	c.WaitRunsFinished(60*time.Second, 1, "asset_produces_2")
	c.WaitRunsFinished(90*time.Second, 1, "asset_consumes_1_and_2")
	testenv.Eventually(t, 60*time.Second, "the | consumer to run a second time", func() (bool, string) {
		rs := c.Runs("consume_1_or_2_with_asset_expressions")
		return len(rs) == 2 && rs[0].State == "success" && rs[1].State == "success", fmt.Sprintf("%d runs", len(rs))
	})
	// Nothing ran twice: two schedulers, one run per satisfied condition.
	time.Sleep(3 * time.Second)
	// The API: assets with their references and last event, events with
	// the runs they created, queued events, and an event made by hand.
	api := apiClient{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", c.APIPort)}
	waitAPI(t, c)
	api.token = api.login("op", "op-pass")
	var assets struct {
		Assets []struct {
			ID            int64  `json:"id"`
			URI           string `json:"uri"`
			Extra         map[string]any
			ScheduledDags []struct {
				DagID string `json:"dag_id"`
			} `json:"scheduled_dags"`
			ProducingTasks []struct {
				DagID  string `json:"dag_id"`
				TaskID string `json:"task_id"`
			} `json:"producing_tasks"`
			Last *struct {
				ID *int64 `json:"id"`
			} `json:"last_asset_event"`
		} `json:"assets"`
		Total int `json:"total_entries"`
	}
	code, body := api.do("GET", "/api/v2/assets?uri_pattern=dag1", nil)
	if err := json.Unmarshal(body, &assets); code != 200 || err != nil || assets.Total != 1 {
		t.Fatalf("assets?uri_pattern=dag1: %d %s", code, body)
	}
	a1 := assets.Assets[0]
	if a1.URI != "s3://dag1/output_1.txt" || a1.Extra["hi"] != "bye" || len(a1.ScheduledDags) != 4 || len(a1.ProducingTasks) != 1 ||
		a1.ProducingTasks[0].TaskID != "producing_task_1" || a1.Last == nil || a1.Last.ID == nil {
		t.Errorf("asset a1: %s", body)
	}
	code, body = api.do("GET", fmt.Sprintf("/api/v2/assets/events?asset_id=%d", a1.ID), nil)
	if code != 200 || !strings.Contains(string(body), `"total_entries":1`) || !strings.Contains(string(body), `"source_task_id":"producing_task_1"`) ||
		!strings.Contains(string(body), `"dag_id":"asset_consumes_1"`) {
		t.Errorf("events of a1: %d %s", code, body)
	}
	run := c.Runs("asset_consumes_1")[0]
	if code, body := api.do("GET", "/api/v2/dags/asset_consumes_1/dagRuns/"+run.RunID+"/upstreamAssetEvents", nil); code != 200 ||
		!strings.Contains(string(body), `"uri":"s3://dag1/output_1.txt"`) {
		t.Errorf("upstreamAssetEvents: %d %s", code, body)
	}
	// The complex consumer ran on a1; a2 (from p2) waits there for a3,
	// whose event is made by hand.
	code, body = api.do("GET", "/api/v2/assets?uri_pattern=dag3", nil)
	if err := json.Unmarshal(body, &assets); code != 200 || err != nil || assets.Total != 1 {
		t.Fatalf("assets?uri_pattern=dag3: %d %s", code, body)
	}
	a3 := assets.Assets[0].ID
	code, body = api.do("POST", "/api/v2/assets/events", map[string]any{"asset_id": a3, "extra": map[string]any{"by": "hand"}})
	if code != 200 || !strings.Contains(string(body), `"by":"hand"`) {
		t.Fatalf("POST asset event: %d %s", code, body)
	}
	// a2 (from p2) and now a3: the complex consumer runs a second time.
	testenv.Eventually(t, 60*time.Second, "the a2 & a3 branch to run", func() (bool, string) {
		rs := c.Runs("consume_1_or_both_2_and_3_with_asset_expressions")
		return len(rs) == 2 && rs[0].State == "success", fmt.Sprintf("%d runs", len(rs))
	})
	code, body = api.do("GET", "/api/v2/dags/asset_consumes_1_never/assets/queuedEvents", nil)
	if code != 404 {
		t.Errorf("queued events of a missing DAG: %d %s", code, body)
	}
	code, body = api.do("GET", "/api/v2/dags/yaml_nested/assets/queuedEvents", nil)
	if code != 200 || !strings.Contains(string(body), `"total_entries":1`) {
		t.Errorf("queued events of yaml_nested (raw.json waits for s3://never): %d %s", code, body)
	}
	if code, body := api.do("DELETE", "/api/v2/dags/yaml_nested/assets/queuedEvents", nil); code != 204 {
		t.Errorf("delete queued events: %d %s", code, body)
	}
	if code, body := api.do("GET", "/api/v2/dags/yaml_nested/assets/queuedEvents", nil); code != 200 || !strings.Contains(string(body), `"total_entries":0`) {
		t.Errorf("queued events after the delete: %d %s", code, body)
	}

	for id, want := range map[string]int{"asset_consumes_1": 1, "asset_consumes_1_and_2": 1, "consume_1_or_2_with_asset_expressions": 2,
		"consume_1_or_both_2_and_3_with_asset_expressions": 2, "asset_consumes_other": 1, "yaml_consumer": 1, "yaml_condition": 1, "yaml_nested": 0} {
		if rs := c.Runs(id); len(rs) != want {
			t.Errorf("%s: %d runs, want %d: %+v", id, len(rs), want, rs)
		}
	}
}
