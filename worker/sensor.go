package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gust-sched/gust/common/connection"
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/templating"
)

// errSensorFailed is a poke that ends the sensor with a failure.
var errSensorFailed = errors.New("sensor failed")

// executeSensor pokes until the condition holds, the sensor times out
// (failed without retry, or skipped with soft_fail), or, in reschedule mode,
// after one poke hands the slot back with up_for_reschedule.
func executeSensor(ctx context.Context, tl *taskLog, store Store, py *PythonRuntime, task *dagspec.Task, dag *dagspec.DAG,
	run *metadb.DagRun, ti *metadb.TaskInstance) outcome {
	s := task.Sensor
	masker := &secrets.Masker{}
	var xcoms, rendered map[string]any
	var pokeOnce func() (bool, string, error)
	if task.Operator == dagspec.OperatorPythonSensor {
		pokeOnce = func() (bool, string, error) {
			ok, detail, x, r, err := pokePython(ctx, tl, store, py, task, dag, run, ti)
			xcoms, rendered = x, r
			return ok, detail, err
		}
	} else {
		r, conns, err := Renderer(ctx, store, dag, run, ti, masker)
		if err != nil {
			return outcome{state: tistate.Failed, reason: "template error: " + err.Error()}
		}
		pokeOnce = func() (bool, string, error) { return poke(ctx, tl, store, r, conns, task, run) }
	}
	started := time.Now()
	if ti.SensorStartedAt != nil {
		started = *ti.SensorStartedAt
	}
	timeout := secs(s.Timeout)
	interval := secs(s.PokeInterval)
	for {
		ok, detail, err := pokeOnce()
		var skip *sensorSkip
		switch {
		case errors.As(err, &skip):
			return outcome{state: tistate.Skipped, reason: skip.reason, rendered: rendered}
		case err != nil:
			return outcome{state: tistate.Failed, reason: masker.Mask(err.Error()), noRetry: errors.Is(err, errSensorFailed), rendered: rendered}
		}
		if ok {
			tl.Infof("Success criteria met: %s. Exiting.", detail)
			return outcome{state: tistate.Success, xcoms: xcoms, rendered: rendered}
		}
		tl.Infof("Poking: %s: not yet", detail)
		elapsed := time.Since(started)
		if elapsed >= timeout {
			msg := fmt.Sprintf("Sensor has timed out; run duration of %.0f seconds exceeded the specified timeout of %.0f", elapsed.Seconds(), s.Timeout)
			if s.SoftFail {
				return outcome{state: tistate.Skipped, reason: msg + " (soft_fail: skipped)"}
			}
			return outcome{state: tistate.Failed, reason: msg, noRetry: true}
		}
		wait := min(interval, timeout-elapsed)
		if s.Mode == "reschedule" {
			at := time.Now().Add(wait)
			tl.Infof("Rescheduling the sensor to %s (mode reschedule frees the worker slot)", at.UTC().Format(time.RFC3339))
			return outcome{state: tistate.UpForReschedule, rescheduleAt: &at}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return outcome{state: tistate.Failed, reason: "sensor stopped: " + context.Cause(ctx).Error()}
		case <-t.C:
		}
	}
}

// sensorSkip is a poke that skips the sensor (AirflowSkipException).
type sensorSkip struct{ reason string }

func (e *sensorSkip) Error() string { return e.reason }

// pokePython calls a python_sensor's poke(context) once on a warm Python
// process: done or not, the XComs of its PokeReturnValue, the rendered
// fields; a skip is a *sensorSkip, AirflowFailException errSensorFailed.
func pokePython(ctx context.Context, tl *taskLog, store Store, py *PythonRuntime, task *dagspec.Task, dag *dagspec.DAG,
	run *metadb.DagRun, ti *metadb.TaskInstance) (bool, string, map[string]any, map[string]any, error) {
	res, masker, rendered, err := callPython(ctx, tl, store, py, task, dag, run, ti, nil)
	if err != nil {
		return false, "", nil, rendered, err
	}
	what := "poke"
	if task.Python != nil && task.Python.Callable != "" {
		what = "poke of " + task.Python.Callable
	}
	switch res.State {
	case tistate.Success:
		if err := checkXComs(res.XComs); err != nil {
			return false, "", nil, rendered, err
		}
		return res.Condition != nil && *res.Condition, what, res.XComs, rendered, nil
	case tistate.Skipped:
		return false, "", nil, rendered, &sensorSkip{reason: masker.Mask(res.Error)}
	}
	msg := masker.Mask(res.Error)
	if res.NoRetry {
		return false, "", nil, rendered, fmt.Errorf("%w: %s", errSensorFailed, msg)
	}
	return false, "", nil, rendered, errors.New(msg)
}

// poke checks a sensor's condition once.
func poke(ctx context.Context, tl *taskLog, store Store, r *templating.Renderer, conns []*connection.Connection, task *dagspec.Task, run *metadb.DagRun) (bool, string, error) {
	s := task.Sensor
	switch task.Operator {
	case dagspec.OperatorFileSensor:
		path, err := r.Render("filepath", s.Filepath)
		if err != nil {
			return false, "", err
		}
		matches, err := filepath.Glob(path)
		if err != nil {
			return false, "", fmt.Errorf("filepath %q: %w", path, err)
		}
		return len(matches) > 0, "file " + path, nil
	case dagspec.OperatorTimeDeltaSensor:
		end := run.LogicalDate
		if run.DataIntervalEnd != nil {
			end = *run.DataIntervalEnd
		}
		target := end.Add(secs(s.Delta))
		return !time.Now().Before(target), "until " + target.UTC().Format(time.RFC3339), nil
	case dagspec.OperatorDateTimeSensor:
		raw, err := r.Render("target_time", s.TargetTime)
		if err != nil {
			return false, "", err
		}
		target, err := parseTarget(raw)
		if err != nil {
			return false, "", err
		}
		return !time.Now().Before(target), "until " + target.UTC().Format(time.RFC3339), nil
	case dagspec.OperatorExternalTaskSensor:
		logical := run.LogicalDate.Add(-secs(s.ExecutionDelta))
		what := fmt.Sprintf("%s.%s on %s", s.ExternalDagID, s.ExternalTaskID, logical.UTC().Format(time.RFC3339))
		if s.ExternalTaskGroupID != "" {
			return pokeExternalGroup(ctx, store, s, logical)
		}
		if s.ExternalTaskID == "" {
			what = fmt.Sprintf("DAG %s on %s", s.ExternalDagID, logical.UTC().Format(time.RFC3339))
		}
		state, found, err := store.ExternalState(ctx, s.ExternalDagID, s.ExternalTaskID, logical)
		if err != nil {
			return false, "", err
		}
		if !found {
			return false, what + " (no such run yet)", nil
		}
		if slices.Contains(s.FailedStates, state) {
			return false, "", fmt.Errorf("%w: the external %s is %s", errSensorFailed, what, state)
		}
		return slices.Contains(s.AllowedStates, state), fmt.Sprintf("%s in state %s", what, tistate.Display(state)), nil
	case dagspec.OperatorHTTPSensor:
		code, body, err := doHTTP(ctx, r, conns, task.HTTP)
		if err != nil {
			return false, "", err
		}
		what := fmt.Sprintf("%s %s -> %d", task.HTTP.Method, task.HTTP.Endpoint, code)
		switch {
		case code == http.StatusNotFound:
			return false, what, nil
		case code < 200 || code > 299:
			return false, "", fmt.Errorf("HTTP sensor: %s: %s", what, snippet(body))
		case task.HTTP.ResponseCheck != "" && !strings.Contains(body, task.HTTP.ResponseCheck):
			return false, what + " (response does not contain the expected text)", nil
		}
		return true, what, nil
	}
	return false, "", fmt.Errorf("operator %s is not a sensor", task.Operator)
}

// pokeExternalGroup is ExternalTaskSensor's external_task_group_id: done
// when every task instance of the group is in allowed_states, failed when
// one is in failed_states.
func pokeExternalGroup(ctx context.Context, store Store, s *dagspec.Sensor, logical time.Time) (bool, string, error) {
	what := fmt.Sprintf("group %s.%s on %s", s.ExternalDagID, s.ExternalTaskGroupID, logical.UTC().Format(time.RFC3339))
	states, found, err := store.ExternalGroupStates(ctx, s.ExternalDagID, s.ExternalTaskGroupID, logical)
	if err != nil {
		return false, "", err
	}
	if !found {
		return false, what + " (no such run yet)", nil
	}
	allowed := 0
	for _, st := range states {
		if slices.Contains(s.FailedStates, st) {
			return false, "", fmt.Errorf("%w: a task of the external %s is %s", errSensorFailed, what, st)
		}
		if slices.Contains(s.AllowedStates, st) {
			allowed++
		}
	}
	return allowed == len(states), fmt.Sprintf("%s: %d of %d tasks in %s", what, allowed, len(states), strings.Join(s.AllowedStates, ", ")), nil
}

func parseTarget(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("target_time %q is not a date-time", s)
}

func snippet(s string) string {
	if len(s) > 500 {
		return s[:500] + "..."
	}
	return s
}

// executeHTTP is Airflow's HttpOperator: the request must answer 2xx (and
// contain response_check_contains); the body is the return_value XCom.
func executeHTTP(ctx context.Context, tl *taskLog, store Store, task *dagspec.Task, dag *dagspec.DAG, run *metadb.DagRun, ti *metadb.TaskInstance) outcome {
	masker := &secrets.Masker{}
	r, conns, err := Renderer(ctx, store, dag, run, ti, masker)
	if err != nil {
		return outcome{state: tistate.Failed, reason: "template error: " + err.Error()}
	}
	reqCtx := ctx
	if task.ExecutionTimeoutSec > 0 {
		var cancel context.CancelFunc
		reqCtx, cancel = context.WithTimeout(ctx, secs(task.ExecutionTimeoutSec))
		defer cancel()
	}
	code, body, err := doHTTP(reqCtx, r, conns, task.HTTP)
	if err != nil {
		return outcome{state: tistate.Failed, reason: masker.Mask(err.Error())}
	}
	tl.Infof("HTTP %s %s answered %d", task.HTTP.Method, task.HTTP.Endpoint, code)
	_, _ = io.WriteString(tl, masker.Mask(snippet(body))+"\n")
	if code < 200 || code > 299 {
		return outcome{state: tistate.Failed, reason: masker.Mask(fmt.Sprintf("HTTP %d: %s", code, snippet(body)))}
	}
	if c := task.HTTP.ResponseCheck; c != "" && !strings.Contains(body, c) {
		return outcome{state: tistate.Failed, reason: fmt.Sprintf("response check failed: the body does not contain %q", c)}
	}
	out := outcome{state: tistate.Success, xcoms: map[string]any{}}
	if task.DoXcomPush {
		out.xcoms["return_value"] = body
	}
	if err := checkXComs(out.xcoms); err != nil {
		return outcome{state: tistate.Failed, reason: err.Error()}
	}
	return out
}

// doHTTP sends the request described by the task to its connection's base
// URL, with basic auth from the connection's login and headers from its
// extra and the task.
func doHTTP(ctx context.Context, r *templating.Renderer, conns []*connection.Connection, h *dagspec.HTTP) (int, string, error) {
	var conn *connection.Connection
	for _, c := range conns {
		if c.ConnID == h.ConnID {
			conn = c
		}
	}
	if conn == nil {
		return 0, "", fmt.Errorf("the conn_id `%s` isn't defined", h.ConnID)
	}
	endpoint, err := r.Render("endpoint", h.Endpoint)
	if err != nil {
		return 0, "", err
	}
	data, err := r.Render("data", h.Data)
	if err != nil {
		return 0, "", err
	}
	base := conn.Host
	if !strings.Contains(base, "://") {
		scheme := conn.Schema
		if scheme == "" {
			scheme = "http"
		}
		base = scheme + "://" + base
	}
	if conn.Port != 0 {
		if u, err := url.Parse(base); err == nil && u.Port() == "" {
			u.Host = fmt.Sprintf("%s:%d", u.Hostname(), conn.Port)
			base = u.String()
		}
	}
	target := strings.TrimRight(base, "/")
	if endpoint != "" {
		target += "/" + strings.TrimLeft(endpoint, "/")
	}
	var body io.Reader
	if h.Method == http.MethodGet || h.Method == http.MethodHead {
		if data != "" {
			q := data
			var m map[string]any
			if json.Unmarshal([]byte(data), &m) == nil {
				v := url.Values{}
				for k, x := range m {
					v.Set(k, fmt.Sprint(x))
				}
				q = v.Encode()
			}
			sep := "?"
			if strings.Contains(target, "?") {
				sep = "&"
			}
			target += sep + q
		}
	} else if data != "" {
		body = strings.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, h.Method, target, body)
	if err != nil {
		return 0, "", fmt.Errorf("HTTP request: %w", err)
	}
	for k, v := range conn.ExtraMap() {
		if s, ok := v.(string); ok {
			req.Header.Set(k, s)
		}
	}
	for k, v := range h.Headers {
		rv, err := r.Render("headers."+k, v)
		if err != nil {
			return 0, "", err
		}
		req.Header.Set(k, rv)
	}
	if conn.Login != "" {
		req.SetBasicAuth(conn.Login, conn.Password)
	}
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("HTTP %s %s: %w", h.Method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, "", fmt.Errorf("HTTP %s %s: read body: %w", h.Method, target, err)
	}
	return resp.StatusCode, string(b), nil
}
