package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gust-sched/gust/internal/testenv"
)

// TestSensorsAndHTTP runs every sensor through real processes, in poke and
// reschedule modes, and the HTTP operator against a local server.
func TestSensorsAndHTTP(t *testing.T) {
	t.Parallel()
	var polls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		if polls.Add(1) < 3 {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "READY")
	})
	mux.HandleFunc("/api/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		user, pw, _ := r.BasicAuth()
		fmt.Fprintf(w, "%s %s %s %s %s", r.Method, r.Header.Get("X-Run"), user, pw, b)
	})
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", 500) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	c := newCluster(t)
	marker := filepath.Join(c.Home, "arrives")
	marker2 := filepath.Join(c.Home, "arrives2")
	target := time.Now().UTC().Add(3 * time.Second).Format(time.RFC3339)
	c.WriteDAG("sensors.yaml", fmt.Sprintf(`
default:
  schedule: null
  default_args: {poke_interval: 1, retries: 2, retry_delay_sec: 0}
upstream_dag:
  task_groups: {grp: {}, bad: {}}
  tasks:
    produce: {operator: bash, bash_command: 'sleep 2'}
    g1: {operator: bash, bash_command: 'sleep 1', task_group_name: grp}
    g2: {operator: bash, bash_command: 'true', task_group_name: grp, dependencies: [g1]}
    b1: {operator: bash, bash_command: 'exit 1', task_group_name: bad, retries: 0}
group_sensors:
  tasks:
    group_wait: {operator: external_task_sensor, external_dag_id: upstream_dag, external_task_group_id: grp, mode: reschedule, timeout: 60}
    group_fails:
      operator: external_task_sensor
      external_dag_id: upstream_dag
      external_task_group_id: bad
      failed_states: [failed]
      mode: reschedule
      timeout: 60
      retries: 0
sensors:
  tasks:
    file_poke: {operator: file_sensor, filepath: '%[1]s', mode: poke, timeout: 60}
    file_reschedule: {operator: airflow.sensors.filesystem.FileSensor, filepath: '%[2]s', mode: reschedule, timeout: 60}
    delta: {operator: time_delta_sensor, delta: 0}
    at_time: {operator: date_time_sensor, target_time: '%[3]s', mode: reschedule}
    external: {operator: external_task_sensor, external_dag_id: upstream_dag, external_task_id: produce, mode: reschedule, timeout: 60}
    web: {operator: http_sensor, http_conn_id: local, endpoint: ready, response_check_contains: READY}
    call:
      operator: airflow.providers.http.operators.http.HttpOperator
      http_conn_id: local
      endpoint: /api/echo
      method: POST
      headers: {X-Run: '{{ run_id }}'}
      data: {ds: '{{ ds }}'}
      dependencies: [web]
timeouts:
  tasks:
    never_soft: {operator: file_sensor, filepath: /nonexistent/gust, timeout: 2, soft_fail: true}
    never_hard: {operator: file_sensor, filepath: /nonexistent/gust, timeout: 2, mode: reschedule}
    bad_call: {operator: http, http_conn_id: local, endpoint: broken, retries: 0}
`, marker, marker2, target))
	c.MustRun("connections", "add", "local", "--conn-uri", fmt.Sprintf("http://svc:s3cret@%s", ln.Addr()))
	c.Start("scheduler", "scheduler")
	c.Start("worker", "worker", "-c", "8")
	c.WaitParsed(30*time.Second, "sensors", "upstream_dag", "timeouts", "group_sensors")
	c.MustRun("dags", "trigger", "sensors", "--run-id", "r1", "--logical-date", "2024-06-01")
	c.MustRun("dags", "trigger", "group_sensors", "--run-id", "r1", "--logical-date", "2024-06-01")
	c.MustRun("dags", "trigger", "timeouts", "--run-id", "r1")

	// The reschedule-mode sensor hands its slot back between pokes, on the
	// same try.
	testenv.Eventually(t, 30*time.Second, "a sensor in up_for_reschedule", func() (bool, string) {
		ti := c.TIs("sensors", "r1")["file_reschedule"]
		return testenv.State(ti) == "up_for_reschedule" && ti.TryNumber == 1, testenv.State(ti)
	})
	time.Sleep(2 * time.Second)
	for _, m := range []string{marker, marker2} {
		if err := os.WriteFile(m, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.MustRun("dags", "trigger", "upstream_dag", "--run-id", "u1", "--logical-date", "2024-06-01")

	runs := c.WaitRunsFinished(60*time.Second, 4, "sensors", "timeouts", "upstream_dag", "group_sensors")
	// external_task_group_id waits for every task of the group; one in
	// failed_states fails the sensor.
	gs := c.TIs("group_sensors", "r1")
	if s := testenv.State(gs["group_wait"]); s != "success" {
		t.Errorf("group_wait: %s, want success", s)
	}
	if s := testenv.State(gs["group_fails"]); s != "failed" {
		t.Errorf("group_fails: %s, want failed (bad.b1 failed)", s)
	}
	if runs["sensors"][0].State != "success" {
		t.Errorf("sensors run %s", runs["sensors"][0].State)
	}
	tis := c.TIs("sensors", "r1")
	for task, ti := range tis {
		if testenv.State(ti) != "success" || ti.TryNumber != 1 {
			t.Errorf("sensors/%s: %s try %d, want success on try 1", task, testenv.State(ti), ti.TryNumber)
		}
	}
	var xs []struct {
		TaskID string `json:"task_id"`
		Value  any    `json:"value"`
	}
	c.MustJSON(&xs, "tasks", "xcom", "list", "sensors", "r1", "-t", "call")
	if len(xs) != 1 || xs[0].Value != `POST r1 svc s3cret {"ds":"2024-06-01"}` {
		t.Errorf("http operator XCom: %+v", xs)
	}
	if polls.Load() < 3 {
		t.Errorf("http sensor polled %d times; the endpoint answered 404 twice first", polls.Load())
	}
	tt := c.TIs("timeouts", "r1")
	if got := testenv.State(tt["never_soft"]); got != "skipped" {
		t.Errorf("soft_fail sensor timed out as %s, want skipped", got)
	}
	if ti := tt["never_hard"]; testenv.State(ti) != "failed" || ti.TryNumber != 1 {
		t.Errorf("timed-out sensor: %s try %d; want failed on try 1 (a sensor timeout is not retried)", testenv.State(ti), ti.TryNumber)
	}
	if got := testenv.State(tt["bad_call"]); got != "failed" {
		t.Errorf("HTTP 500: %s, want failed", got)
	}
	b, _ := os.ReadFile(filepath.Join(c.Logs, "dag_id=timeouts", "run_id=r1", "task_id=never_hard", "attempt=1.log"))
	if !strings.Contains(string(b), "Sensor has timed out") {
		t.Errorf("timed-out sensor log:\n%s", b)
	}
	b, _ = os.ReadFile(filepath.Join(c.Logs, "dag_id=sensors", "run_id=r1", "task_id=call", "attempt=1.log"))
	if strings.Contains(string(b), "s3cret") && !strings.Contains(string(b), "***") {
		t.Errorf("the connection password appears in the log:\n%s", b)
	}
}
