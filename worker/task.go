package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/broker"
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/logkey"
	"github.com/gust-sched/gust/common/mapping"
	"github.com/gust-sched/gust/common/monitor"
	"github.com/gust-sched/gust/common/retry"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

// handle takes one delivery through claim, run and result.
func (w *Worker) handle(ctx context.Context, d broker.Delivery) {
	if d.Err != nil {
		w.logger.Error("dropping undecodable message", logkey.Err, d.Err)
		_ = d.Reject(false)
		w.event(monitor.Event{Type: "task-rejected", Reason: d.Err.Error()})
		return
	}
	m := d.Msg
	try := metadb.TryKey{TIKey: metadb.TIKey{DagID: m.DagID, RunID: m.RunID, TaskID: m.TaskID, MapIndex: m.MapIndex}, TryNumber: m.TryNumber}
	log := w.logger.With(logkey.DagID, m.DagID, logkey.RunID, m.RunID, logkey.TaskID, m.TaskID, logkey.TryNumber, m.TryNumber)
	w.event(monitor.Event{Type: "task-received", DagID: m.DagID, RunID: m.RunID, TaskID: m.TaskID, MapIndex: m.MapIndex, TryNumber: m.TryNumber, Queued: m.QueuedAt})

	var ti *metadb.TaskInstance
	var resume metadb.LogResume
	var claimed bool
	err := metadb.Retry(ctx, log, "claim", func(ctx context.Context) error {
		var err error
		ti, resume, claimed, err = metadb.Claim(ctx, w.db.Pool, try, w.opts.Hostname, os.Getpid())
		return err
	})
	if err != nil {
		// The message goes back to the queue; nothing was claimed.
		log.Error("cannot claim task; returning message to the queue", logkey.Err, err)
		_ = d.Reject(true)
		return
	}
	if ackErr := d.Ack(); ackErr != nil {
		log.Warn("ack failed (the broker will redeliver; the claim makes that a no-op)", logkey.Err, ackErr)
	}
	if !claimed {
		log.Info("message is stale or a duplicate: try is not queued; ignoring it")
		w.event(monitor.Event{Type: "task-rejected", DagID: m.DagID, RunID: m.RunID, TaskID: m.TaskID, MapIndex: m.MapIndex,
			TryNumber: m.TryNumber, Reason: "try not queued"})
		return
	}

	// The try's log goes to its file and, through its shipper, to Postgres.
	logPath := LogPath(w.opts.BaseLogFolder, ti.TIKey, ti.TryNumber)
	tl, openErr := openTaskLog(logPath)
	if openErr != nil {
		log.Error("cannot open task log", logkey.Err, openErr)
		tl = &taskLog{f: nopCloser{io.Discard}}
	}
	defer tl.Close()
	ship := newLogShipper(try, w.opts.MaxLogSize, resume)
	tl.ship = ship

	taskCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w.mu.Lock()
	w.running[try] = &runningTry{cancel: cancel, log: ship, started: time.Now()}
	w.mu.Unlock()
	w.active.Add(1)
	if m := w.opts.Metrics; m != nil {
		m.Running.Inc()
		defer m.Running.Dec()
	}
	// The try stops heartbeating once its result is recorded.
	stopRunning := sync.OnceFunc(func() {
		w.mu.Lock()
		delete(w.running, try)
		w.mu.Unlock()
		w.active.Add(-1)
	})
	defer stopRunning()
	w.event(monitor.Event{Type: "task-started", DagID: m.DagID, RunID: m.RunID, TaskID: m.TaskID, MapIndex: m.MapIndex, TryNumber: m.TryNumber, Queued: m.QueuedAt})
	start := time.Now()

	var res result
	if openErr != nil {
		tl.Errorf("cannot write the log file %s: %v", logPath, openErr)
		res = result{state: tistate.Failed, reason: openErr.Error()}
	} else {
		res = w.run(taskCtx, log, ti, tl)
	}

	state := res.state
	nextRetry := res.rescheduleAt
	revoked := errors.Is(context.Cause(taskCtx), errRevoked)
	if revoked && state != tistate.Success && state != tistate.Skipped {
		// Revoked with terminate (Flower's API): failed, as Airflow's
		// mark-failed, with no retry.
		state, res.noRetry = tistate.Failed, true
	}
	if state == tistate.Failed && res.task != nil && ti.TryNumber <= ti.MaxTries && !res.noRetry {
		state = tistate.UpForRetry
		delay := retry.Delay(retry.Policy{
			Delay:              secs(res.task.RetryDelaySec),
			ExponentialBackoff: res.task.RetryExponentialBackoff,
			MaxDelay:           secs(res.task.MaxRetryDelaySec),
		}, ti.DagID, ti.TaskID, res.logicalDate, ti.TryNumber)
		if res.retryDelay != nil && *res.retryDelay >= 0 {
			delay = secs(*res.retryDelay) // the retry policy's
		}
		at := time.Now().Add(delay)
		nextRetry = &at
	}
	// A try cut short by this worker's shutdown is handed back: it runs
	// again elsewhere without using up a retry.
	handBack := state != tistate.Success && state != tistate.Skipped && errors.Is(context.Cause(taskCtx), errShutdown)
	if handBack {
		state = tistate.UpForRetry
	}
	// The rest of the log rides the result's statement; a callback's text
	// follows in one more statement, and a mark says it will.
	callback := !handBack && callbackCommand(res, state) != ""
	ship.setCallback(callback)
	sh := ship.take(true)
	logs := sh.chunks
	var applied bool
	err = metadb.Retry(ctx, log, "record result", func(ctx context.Context) error {
		var err error
		applied, err = w.recordResult(ctx, try, state, nextRetry, handBack, res, logs)
		if err != nil && len(logs) > 0 && !metadb.IsTransient(err) {
			// The log must never cost the result: record it alone, and
			// leave the log for the statement after the callback.
			log.Warn("cannot store the task log with the result; recording the result without it", logkey.Err, err)
			logs = nil
			applied, err = w.recordResult(ctx, try, state, nextRetry, handBack, res, nil)
		}
		return err
	})
	if err == nil && len(logs) > 0 {
		ship.ack(sh)
	}
	stopRunning()
	ship.setCallback(false)
	runtime := time.Since(start).Seconds()
	if err != nil {
		log.Error("cannot record task result", "state", state, logkey.Err, err)
		w.shipRest(ctx, log, ship, callback)
		return
	}
	if !applied {
		log.Warn("task result not recorded: the try was changed externally meanwhile", "state", state)
		w.shipRest(ctx, log, ship, callback)
		return
	}
	w.processed.Add(1)
	ev := monitor.Event{DagID: m.DagID, RunID: m.RunID, TaskID: m.TaskID, MapIndex: m.MapIndex, TryNumber: m.TryNumber,
		State: state, Reason: res.reason, Runtime: runtime}
	switch state {
	case tistate.Success, tistate.Skipped:
		w.succeeded.Add(1)
		ev.Type = "task-succeeded"
	case tistate.UpForRetry:
		w.retried.Add(1)
		ev.Type = "task-retried"
	case tistate.UpForReschedule:
		ev.Type = "task-rescheduled"
	default:
		w.failed.Add(1)
		ev.Type = "task-failed"
	}
	w.event(ev)
	if m := w.opts.Metrics; m != nil {
		m.Tries.WithLabelValues(state).Inc()
		m.Runtime.Observe(runtime)
	}
	log.Info("task finished", "state", state, "runtime_s", runtime, "reason", res.reason)
	if callback {
		w.runCallback(ctx, log, res, state, tl)
	}
	w.shipRest(ctx, log, ship, callback)
}

// recordResult writes a try's outcome, its XComs and skips, and the rest of
// its log in one transaction.
func (w *Worker) recordResult(ctx context.Context, try metadb.TryKey, state string, nextRetry *time.Time, handBack bool,
	res result, logs []metadb.LogChunk) (applied bool, err error) {
	err = w.db.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		if handBack {
			applied, err = metadb.HandBack(ctx, tx, try, logs...)
		} else {
			applied, err = metadb.Finish(ctx, tx, try, state, nextRetry, logs...)
		}
		if err != nil {
			return err
		}
		// What follows the result goes in one round trip.
		q := metadb.NewDeferred(tx)
		if applied && !handBack {
			if err := w.recordOutputs(ctx, q, tx, try, state, res); err != nil {
				return err
			}
		}
		if err := metadb.NotifySchedule(ctx, q); err != nil {
			return err
		}
		return q.Flush(ctx)
	})
	return applied, err
}

// recordOutputs writes what a try's applied result brings with it: its
// rendered fields and map index label and, on success, its XComs, skips
// and asset events.
func (w *Worker) recordOutputs(ctx context.Context, q *metadb.Deferred, tx pgx.Tx, try metadb.TryKey, state string, res result) error {
	if res.rendered != nil {
		if err := metadb.SaveRenderedFields(ctx, q, try, res.rendered); err != nil {
			return err
		}
	}
	if res.label != nil {
		if err := metadb.SetRenderedMapIndex(ctx, q, try, *res.label); err != nil {
			return err
		}
	}
	if state != tistate.Success {
		return nil
	}
	// XComs land with the success, so that downstream tasks, which start
	// after it, always see them; a try starts clean. A first try has no
	// earlier XComs to clear.
	if try.TryNumber > 1 {
		if err := metadb.ClearXComs(ctx, q, try.TIKey); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(res.xcoms) {
		if err := metadb.PushXCom(ctx, q, try.TIKey, k, res.xcoms[k]); err != nil {
			return err
		}
	}
	if err := metadb.SkipTIs(ctx, q, try.DagID, try.RunID, res.skip); err != nil {
		return err
	}
	// Asset events land with the success too (Airflow's
	// register_asset_changes), queued for the DAGs they schedule.
	if events := outletEvents(res.task, res.events); len(events) > 0 {
		if err := q.Flush(ctx); err != nil {
			return err
		}
		return metadb.RecordAssetEvents(ctx, tx, try.TIKey, events)
	}
	return nil
}

// shipRestTimeout bounds the last shipment of a try's log.
const shipRestTimeout = 30 * time.Second

// shipRest stores what the log gained after the result (a callback's
// text), and ends the log when its result left the callback mark: one
// statement, and none when there is nothing to store. Failing, the text is
// still in the log file.
func (w *Worker) shipRest(ctx context.Context, log *slog.Logger, ship *logShipper, marked bool) {
	sh := ship.take(true)
	var ended []metadb.TryKey
	if marked {
		ended = []metadb.TryKey{ship.try}
	}
	if len(sh.chunks) == 0 && len(ended) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shipRestTimeout)
	defer cancel()
	err := metadb.Retry(ctx, log, "store task log", func(ctx context.Context) error {
		return metadb.AppendTaskLog(ctx, w.db.Pool, sh.chunks, ended)
	})
	if err != nil {
		log.Warn("cannot store the end of the task log in the database (it is in the log file)", logkey.Err, err)
		return
	}
	ship.ack(sh)
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

type result struct {
	rescheduleAt *time.Time
	dag          *dagspec.DAG
	run          *metadb.DagRun
	ti           *metadb.TaskInstance
	xcoms        map[string]any
	rendered     map[string]any
	skip         []string
	state        string
	reason       string
	noRetry      bool
	retryDelay   *float64 // a retry policy's delay, in seconds
	task         *dagspec.Task
	logicalDate  time.Time
	events       []pyOutletEvent // the extras and alias events of the try's outlets
	label        *string         // the instance's rendered map_index_template
}

// run executes a claimed try, logging to tl, and returns its outcome. It
// never panics on bad input: every problem becomes a failed try with a
// reason in its log.
func (w *Worker) run(ctx context.Context, log *slog.Logger, ti *metadb.TaskInstance, tl *taskLog) result {
	tl.Infof("Executing %s on %s (try %d of %d), worker %s", ti.TaskID, ti.RunID, ti.TryNumber, ti.MaxTries+1, w.opts.Hostname)

	var run *metadb.DagRun
	var dag *dagspec.DAG
	err := metadb.Retry(ctx, log, "load task", func(ctx context.Context) error {
		var err error
		if run, err = metadb.GetDagRun(ctx, w.db.Pool, ti.DagID, ti.RunID); err != nil {
			return err
		}
		dag, err = w.dags.Get(ctx, w.db.Pool, run.DagHash)
		return err
	})
	if err != nil {
		tl.Errorf("cannot load the task's DAG: %v", err)
		return result{state: tistate.Failed, reason: err.Error()}
	}
	task := dag.Task(ti.TaskID)
	res := result{task: task, logicalDate: run.LogicalDate, dag: dag, run: run, ti: ti}
	if task == nil {
		msg := fmt.Sprintf("task %s is not in DAG %s version %s", ti.TaskID, ti.DagID, run.DagHash)
		tl.Errorf("%s", msg)
		res.state, res.reason, res.noRetry = tistate.Failed, msg, true
		return res
	}
	out := execute(ctx, tl, w.store, w.opts.Python, task, dag, run, ti, w.opts.MaxMapLength)
	res.state, res.reason, res.xcoms, res.skip, res.rendered = out.state, out.reason, out.xcoms, out.skip, out.rendered
	res.noRetry, res.rescheduleAt, res.retryDelay, res.events = out.noRetry, out.rescheduleAt, out.retryDelay, out.events
	res.label = out.label
	return res
}

// RunLocal runs one try of a task in this process, as a worker would, with
// its log written to w (`gust dags test`).
func RunLocal(ctx context.Context, w io.Writer, store *MemStore, py *PythonRuntime, dag *dagspec.DAG, run *metadb.DagRun, ti *metadb.TaskInstance) LocalResult {
	tl := &taskLog{f: nopCloser{w}}
	task := dag.Task(ti.TaskID)
	if task == nil {
		return LocalResult{State: tistate.Failed, Reason: "no such task " + ti.TaskID}
	}
	tl.Infof("Executing %s on %s (try %d of %d), locally", ti.TaskID, ti.RunID, ti.TryNumber, ti.MaxTries+1)
	out := execute(ctx, tl, store, py, task, dag, run, ti, 0)
	if out.state == tistate.Success {
		for k, v := range out.xcoms {
			store.Push(ti.DagID, ti.RunID, ti.TaskID, ti.MapIndex, k, v)
		}
		events := outletEvents(task, out.events)
		for _, e := range events {
			extra, _ := json.Marshal(e.Extra)
			tl.Infof("Asset event: %s, extra %s", e.Asset.URI, extra)
		}
		store.RecordEvents(ti.TIKey, events)
	}
	return LocalResult{State: out.state, Reason: out.reason, Skip: out.skip, NoRetry: out.noRetry, RescheduleAt: out.rescheduleAt,
		RetryDelay: out.retryDelay, Label: out.label}
}

// LocalResult is how a try run by RunLocal ended.
type LocalResult struct {
	State, Reason string
	Skip          []string   // downstream tasks to skip
	NoRetry       bool       // a failure retries cannot help (sensor timeout)
	RescheduleAt  *time.Time // up_for_reschedule: the next poke
	RetryDelay    *float64   // a retry policy's delay before the next try, in seconds
	Label         *string    // a mapped instance's rendered map_index_template
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// execute runs the task's operator and logs the outcome.
// maxMapLen is [core] max_map_length (0: Airflow's 1,024).
func execute(ctx context.Context, tl *taskLog, store Store, py *PythonRuntime, task *dagspec.Task, dag *dagspec.DAG, run *metadb.DagRun,
	ti *metadb.TaskInstance, maxMapLen int) outcome {
	var out outcome
	plain := task
	task, err := mappedTask(ctx, tl, store, py, task, dag, run, ti)
	if errors.Is(err, mapping.ErrSkipped) {
		tl.Infof("Marking task as SKIPPED: %v", err)
		return outcome{state: tistate.Skipped, reason: err.Error()}
	}
	if err != nil {
		tl.Errorf("Task failed: %v", err)
		return outcome{state: tistate.Failed, reason: err.Error(), noRetry: errors.Is(err, mapping.ErrUnmappable)}
	}
	if _, err := executeHook(ctx, tl, store, py, task, dag, run, ti, "pre_execute", nil); err != nil {
		tl.Errorf("Task failed: %v", err)
		return outcome{state: tistate.Failed, reason: err.Error()}
	}
	switch task.Operator {
	case dagspec.OperatorPython, dagspec.OperatorBranchPython, dagspec.OperatorShortCircuitPython, dagspec.OperatorPythonClass:
		out = executePython(ctx, tl, store, py, task, dag, run, ti)
		if out.state == tistate.Success && task.Operator != dagspec.OperatorPython {
			out = followUp(tl, task, dag, out)
		}
	case dagspec.OperatorEmpty, dagspec.OperatorExternalTaskMarker:
		out = outcome{state: tistate.Success}
	case dagspec.OperatorBash, dagspec.OperatorBranch, dagspec.OperatorShortCircuit:
		out = executeBash(ctx, tl, store, task, dag, run, ti)
		if out.state == tistate.Success && task.Operator != dagspec.OperatorBash {
			out = followUp(tl, task, dag, out)
		}
	case dagspec.OperatorHTTP:
		out = executeHTTP(ctx, tl, store, task, dag, run, ti)
	default:
		if dagspec.IsSensor(task.Operator) {
			out = executeSensor(ctx, tl, store, py, task, dag, run, ti)
			break
		}
		out = outcome{state: tistate.Failed, reason: "unknown operator " + task.Operator}
	}
	if cause := context.Cause(ctx); cause != nil && out.state != tistate.Success {
		if errors.Is(cause, errShutdown) || errors.Is(cause, errExternallyChanged) || errors.Is(cause, errRevoked) {
			out.reason = cause.Error()
		}
	}
	if out.state == tistate.Success {
		events, err := executeHook(ctx, tl, store, py, task, dag, run, ti, "post_execute", out.xcoms["return_value"])
		if err != nil {
			out = outcome{state: tistate.Failed, reason: err.Error(), rendered: out.rendered}
		} else if events != nil {
			out.events = events
		}
	}
	if out.state == tistate.Success {
		if maxMapLen <= 0 {
			maxMapLen = mapping.DefaultMaxLength
		}
		if err := checkMappable(dag, plain, out.xcoms, maxMapLen); err != nil {
			out = outcome{state: tistate.Failed, reason: err.Error(), rendered: out.rendered}
		}
	}
	labelMapIndex(ctx, tl, store, task, dag, run, ti, &out)
	switch out.state {
	case tistate.Success:
		tl.Infof("Marking task as SUCCESS. dag_id=%s, task_id=%s, run_id=%s", ti.DagID, ti.TaskID, ti.RunID)
	case tistate.Skipped:
		tl.Infof("Marking task as SKIPPED: %s", out.reason)
	case tistate.UpForReschedule:
		tl.Infof("Marking task as UP_FOR_RESCHEDULE")
	default:
		tl.Errorf("Task failed: %s", out.reason)
	}
	return out
}

// executeBash renders the task, runs it with secrets masked in its log, and
// collects its XComs: the last line of output as return_value (when
// do_xcom_push) and the key=value lines written to $GUST_XCOM_FILE.
func executeBash(ctx context.Context, tl *taskLog, store Store, task *dagspec.Task, dag *dagspec.DAG, run *metadb.DagRun, ti *metadb.TaskInstance) outcome {
	p, err := prepare(ctx, store, task, dag, run, ti)
	if err != nil {
		return outcome{state: tistate.Failed, reason: "template error: " + err.Error()}
	}
	out := executePrepared(ctx, tl, task, dag, run, ti, p)
	out.rendered = p.rendered()
	return out
}

// executePrepared runs a rendered bash task.
func executePrepared(ctx context.Context, tl *taskLog, task *dagspec.Task, dag *dagspec.DAG, run *metadb.DagRun, ti *metadb.TaskInstance, p *prepared) outcome {
	sc, err := takeScratch(ctx)
	if err != nil {
		return outcome{state: tistate.Failed, reason: err.Error()}
	}
	defer sc.Release()
	p.extra["GUST_XCOM_FILE"] = sc.xcom
	cwd := task.Cwd
	if cwd == "" {
		cwd = sc.dir
	}
	masked := p.masker.Writer(tl)
	last := &lastLine{}
	out := runBash(ctx, tl, bashSpec{
		command:        p.command,
		output:         io.MultiWriter(masked, last),
		env:            taskEnv(task, p.env, p.extra, dag, run, ti),
		cwd:            cwd,
		timeout:        secs(task.ExecutionTimeoutSec),
		skipOnExitCode: task.SkipOnExitCode,
		mask:           p.masker.Mask,
	})
	_ = masked.Flush()
	if out.state != tistate.Success {
		return out
	}
	xs, err := readXComFile(sc.xcom)
	if err != nil {
		return outcome{state: tistate.Failed, reason: err.Error()}
	}
	if xs == nil {
		xs = map[string]any{}
	}
	addMissing(xs, p.pushed)
	out.last = last.String()
	if task.DoXcomPush {
		xs["return_value"] = out.last
	}
	if err := checkXComs(xs); err != nil {
		return outcome{state: tistate.Failed, reason: err.Error()}
	}
	out.xcoms = xs
	return out
}

// LogPath is where a try's log goes, in Airflow's layout:
// dag_id=D/run_id=R/task_id=T[/map_index=N]/attempt=K.log.
func LogPath(base string, k metadb.TIKey, try int) string {
	parts := []string{base, "dag_id=" + k.DagID, "run_id=" + k.RunID, "task_id=" + k.TaskID}
	if k.MapIndex >= 0 {
		parts = append(parts, fmt.Sprintf("map_index=%d", k.MapIndex))
	}
	parts = append(parts, fmt.Sprintf("attempt=%d.log", try))
	return filepath.Join(parts...)
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
