package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/internal/testenv"
)

// TestTemplatesXComsAndSecrets: templates render Airflow's context with
// params overridden by conf, XComs go downstream (return_value and named
// ones), variables and connections are encrypted at rest, reach tasks as
// templates and AIRFLOW_CONN_* and are masked in logs; a template error and
// an oversized XCom fail the try with a clear reason.
func TestTemplatesXComsAndSecrets(t *testing.T) {
	t.Parallel()
	key, err := secrets.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, "GUST__CORE__FERNET_KEY="+key)
	out := filepath.Join(c.Home, "out.txt")
	cb := filepath.Join(c.Home, "callbacks.txt")
	c.WriteDAG("ctx.yaml", `
ctx:
  schedule: null
  params:
    who: world
    n: {default: 2, type: integer}
  tasks:
    producer:
      operator: bash
      bash_command: |
        echo "{{ ds }} {{ params.who }} {{ params.n }}"
        echo 'k1=[1, 2]' >> "$GUST_XCOM_FILE"
        echo "last line {{ run_id }}"
    consumer:
      operator: bash
      dependencies: [producer]
      env:
        PULLED: "{{ ti.xcom_pull(task_ids='producer') }}"
      bash_command: 'echo "$PULLED|{{ ti.xcom_pull(task_ids=''producer'', key=''k1'')[1] }}|{{ macros.ds_add(ds, 1) }}|{{ var.json.settings.region }}" > `+out+`'
    secretive:
      operator: bash
      bash_command: 'echo "uri=$AIRFLOW_CONN_MYDB token={{ var.value.api_token }} pw={{ conn.mydb.password }} host={{ conn.mydb.host }}"'
branchy:
  schedule: null
  tasks:
    pick: {operator: branch, bash_command: 'echo "[\"right\"]"'}
    left: {operator: bash, bash_command: 'true', dependencies: [pick]}
    right: {operator: bash, bash_command: 'true', dependencies: [pick]}
    join: {operator: bash, bash_command: 'true', trigger_rule: none_failed_min_one_success, dependencies: [left, right]}
    gate: {operator: short_circuit, bash_command: 'echo 0', ignore_downstream_trigger_rules: false, dependencies: [join]}
    direct: {operator: bash, bash_command: 'true', dependencies: [gate]}
    chained: {operator: bash, bash_command: 'true', dependencies: [direct]}
    cleanup: {operator: bash, bash_command: 'true', trigger_rule: all_done, dependencies: [direct]}
callbacks:
  schedule: null
  on_failure_callback: 'echo "dag {{ dag_run.run_id }} $GUST_DAG_RUN_STATE" >> `+cb+`'
  on_success_callback: 'echo "dag success: wrong" >> `+cb+`'
  default_args:
    on_failure_callback: 'echo "failure {{ ti.task_id }} try {{ ti.try_number }} $GUST_TASK_STATE" >> `+cb+`'
  tasks:
    good:
      operator: bash
      bash_command: 'true'
      on_success_callback: 'echo "success {{ ti.task_id }} {{ ds }}" >> `+cb+`'
    flaky:
      operator: bash
      bash_command: 'exit 1'
      retries: 1
      retry_delay_sec: 0
      on_retry_callback: 'echo "retry {{ ti.task_id }} try {{ ti.try_number }}" >> `+cb+`'
    bad_callback:
      operator: bash
      bash_command: 'true'
      on_success_callback: 'exit 3'
broken:
  schedule: null
  tasks:
    bad_template: {operator: bash, bash_command: 'echo {{ nope }}'}
    big_xcom: {operator: bash, bash_command: 'head -c 60000 /dev/zero | tr "\0" a'}
`)
	c.MustRun("variables", "set", "api_token", "tok-98765-secret")
	c.MustRun("variables", "set", "settings", `{"region": "eu-west"}`, "--json")
	c.MustRun("connections", "add", "mydb", "--conn-uri", "postgres://app:sup3rs3cret@db.internal:5432/sales")
	if got := strings.TrimSpace(c.MustRun("variables", "get", "api_token")); got != "tok-98765-secret" {
		t.Errorf("variables get = %q", got)
	}
	var conns []map[string]any
	c.MustJSON(&conns, "connections", "get", "mydb")
	if len(conns) != 1 || conns[0]["password"] != "***" || conns[0]["host"] != "db.internal" {
		t.Errorf("connections get = %v", conns)
	}
	if _, errOut, err := c.Run("connections", "add", "mydb", "--conn-uri", "http://x"); err == nil || !strings.Contains(errOut, "already exists") {
		t.Errorf("duplicate connection: %v %s", err, errOut)
	}

	// Encrypted at rest.
	dbURL := envValue(c.Env, "GUST__DATABASE__SQL_CONN")
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var val, pw string
	if err := conn.QueryRow(context.Background(), `SELECT v.val, c.password FROM variable v, connection c WHERE v.key = 'api_token' AND c.conn_id = 'mydb'`).Scan(&val, &pw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(val, "tok-98765") || strings.Contains(pw, "sup3rs3cret") {
		t.Errorf("secrets stored in clear: %q %q", val, pw)
	}

	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "2")
	c.WaitParsed(30*time.Second, "ctx", "broken", "branchy", "callbacks")
	c.MustRun("dags", "trigger", "branchy", "--run-id", "r1")
	c.MustRun("dags", "trigger", "callbacks", "--run-id", "r1", "--logical-date", "2024-05-10")
	c.MustRun("dags", "trigger", "ctx", "--run-id", "r1", "--logical-date", "2024-05-10", "--conf", `{"who": "conf"}`)
	c.MustRun("dags", "trigger", "broken", "--run-id", "r1")
	// A param with a schema is checked at trigger time.
	if _, errOut, err := c.Run("dags", "trigger", "ctx", "--conf", `{"n": "many"}`); err == nil || !strings.Contains(errOut, "param n") {
		t.Errorf("bad param value: %v %s", err, errOut)
	}
	runs := c.WaitRunsFinished(60*time.Second, 4, "ctx", "broken", "branchy", "callbacks")
	ct := c.TIs("callbacks", "r1")
	if testenv.State(ct["bad_callback"]) != "success" || testenv.State(ct["flaky"]) != "failed" {
		t.Errorf("callbacks: bad_callback %s (want success), flaky %s (want failed)", testenv.State(ct["bad_callback"]), testenv.State(ct["flaky"]))
	}
	testenv.Eventually(t, 15*time.Second, "callbacks to have run", func() (bool, string) {
		b, _ := os.ReadFile(cb)
		got := string(b)
		return strings.Contains(got, "success good 2024-05-10\n") && strings.Contains(got, "retry flaky try 1\n") &&
			strings.Contains(got, "failure flaky try 2 failed\n") && !strings.Contains(got, "failure good") &&
			strings.Count(got, "dag r1 failed\n") == 1 && !strings.Contains(got, "wrong"), got
	})
	if l, _ := os.ReadFile(filepath.Join(c.Logs, "dag_id=callbacks", "run_id=r1", "task_id=bad_callback", "attempt=1.log")); !strings.Contains(string(l), "callback failed (the task stays success)") {
		t.Errorf("bad_callback log:\n%s", l)
	}
	bt := c.TIs("branchy", "r1")
	for task, want := range map[string]string{"pick": "success", "left": "skipped", "right": "success", "join": "success",
		"gate": "success", "direct": "skipped", "chained": "skipped", "cleanup": "success"} {
		if got := testenv.State(bt[task]); got != want {
			t.Errorf("branchy/%s: %s, want %s", task, got, want)
		}
	}
	if runs["branchy"][0].State != "success" {
		t.Errorf("branchy run %s, want success", runs["branchy"][0].State)
	}
	if runs["ctx"][0].State != "success" || runs["broken"][0].State != "failed" {
		t.Fatalf("runs: ctx %s broken %s", runs["ctx"][0].State, runs["broken"][0].State)
	}
	logOf := func(dag, task string) string {
		b, _ := os.ReadFile(filepath.Join(c.Logs, "dag_id="+dag, "run_id=r1", "task_id="+task, "attempt=1.log"))
		return string(b)
	}
	if l := logOf("ctx", "producer"); !strings.Contains(l, "2024-05-10 conf 2") {
		t.Errorf("producer log lacks the rendered params and ds:\n%s", l)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(b)), "last line r1|2|2024-05-11|eu-west"; got != want {
		t.Errorf("consumer wrote %q, want %q", got, want)
	}
	sl := logOf("ctx", "secretive")
	for _, secret := range []string{"sup3rs3cret", "tok-98765-secret"} {
		if strings.Contains(sl, secret) {
			t.Errorf("secret %q appears in the task log:\n%s", secret, sl)
		}
	}
	if !strings.Contains(sl, "uri=postgres://app:***@db.internal:5432/sales") || !strings.Contains(sl, "token=*** pw=*** host=db.internal") {
		t.Errorf("secretive log:\n%s", sl)
	}
	// The rendered fields are stored with the try's result, masked.
	var stored string
	if err := conn.QueryRow(context.Background(), `SELECT rendered_fields->>'bash_command' FROM rendered_task_instance_fields
		WHERE dag_id = 'ctx' AND run_id = 'r1' AND task_id = 'secretive' AND try_number = 1`).Scan(&stored); err != nil {
		t.Fatalf("rendered fields of ctx/secretive: %v", err)
	}
	if stored != `echo "uri=$AIRFLOW_CONN_MYDB token=*** pw=*** host=db.internal"` {
		t.Errorf("rendered bash_command %q: want the template rendered with its secrets masked", stored)
	}
	var xs []struct {
		TaskID string `json:"task_id"`
		Key    string `json:"key"`
		Value  any    `json:"value"`
	}
	c.MustJSON(&xs, "tasks", "xcom", "list", "ctx", "r1")
	got := map[string]string{}
	for _, x := range xs {
		vb, _ := json.Marshal(x.Value)
		got[x.TaskID+"/"+x.Key] = string(vb)
	}
	if got["producer/return_value"] != `"last line r1"` || got["producer/k1"] != "[1,2]" {
		t.Errorf("xcom list = %v", got)
	}
	if l := logOf("broken", "bad_template"); !strings.Contains(l, "template error") || !strings.Contains(l, "nope") {
		t.Errorf("bad_template log:\n%s", l)
	}
	if l := logOf("broken", "big_xcom"); !strings.Contains(l, "larger than") {
		t.Errorf("big_xcom log:\n%s", l)
	}

	rendered := c.MustRun("tasks", "render", "ctx", "consumer", "2024-05-10")
	if !strings.Contains(rendered, "# property: bash_command") || !strings.Contains(rendered, "|2|2024-05-11|eu-west") {
		t.Errorf("tasks render:\n%s", rendered)
	}
	// Key rotation: the new key first re-encrypts; then the new key alone
	// reads everything.
	newKey, _ := secrets.GenerateKey()
	gust := func(key string, args ...string) (string, error) {
		cmd := exec.Command(gustBin, args...)
		cmd.Env = append(append([]string{}, c.Env...), "GUST__CORE__FERNET_KEY="+key)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	if out, err := gust(newKey+","+key, "rotate-fernet-key"); err != nil || !strings.Contains(out, "2 variables and 1 connections") {
		t.Fatalf("rotate-fernet-key: %v %s", err, out)
	}
	if out, err := gust(newKey, "variables", "get", "api_token"); err != nil || strings.TrimSpace(out) != "tok-98765-secret" {
		t.Errorf("after rotation, the new key alone: %v %q", err, out)
	}
	if out, err := gust(key, "variables", "get", "api_token"); err == nil || !strings.Contains(out, "which [core] fernet_key does not hold") {
		t.Errorf("after rotation, the old key alone should not decrypt: %v %q", err, out)
	}

}

func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}
