package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/metadb"

	"github.com/gust-sched/gust/common/logkey"
	"github.com/gust-sched/gust/common/tistate"
)

// callbackTimeout bounds a callback that sets no execution_timeout (and
// metadb.LogCallbackGrace, after which readers stop waiting for a
// callback's text, is longer).
const callbackTimeout = 5 * time.Minute

// callbackCommand is the task's callback for the state its try ended in
// ("" for none).
func callbackCommand(res result, state string) string {
	if res.task == nil || res.dag == nil || res.run == nil || res.ti == nil {
		return ""
	}
	switch state {
	case tistate.Success:
		return res.task.OnSuccessCallback
	case tistate.Failed:
		return res.task.OnFailureCallback
	case tistate.UpForRetry:
		return res.task.OnRetryCallback
	}
	return ""
}

// runCallback runs the task's callback for the state its try ended in, in
// the try's log tl, with the task's template context and environment plus
// GUST_TASK_STATE and GUST_TASK_REASON. A failing callback is logged; it
// never changes the task's state.
func (w *Worker) runCallback(ctx context.Context, log *slog.Logger, res result, state string, tl *taskLog) {
	runTaskCallback(ctx, log, tl, w.store, w.opts.Python, res, state)
}

// RunLocalCallback runs the task's callback for the state its try ended
// in, as a worker does, its output to w: for dags test.
func RunLocalCallback(ctx context.Context, w io.Writer, store *MemStore, py *PythonRuntime, dag *dagspec.DAG, run *metadb.DagRun,
	ti *metadb.TaskInstance, state, reason string) {
	res := result{task: dag.Task(ti.TaskID), dag: dag, run: run, ti: ti, state: state, reason: reason}
	runTaskCallback(ctx, slog.New(slog.DiscardHandler), &taskLog{f: nopCloser{w}}, store, py, res, state)
}

func runTaskCallback(ctx context.Context, log *slog.Logger, tl *taskLog, store Store, py *PythonRuntime, res result, state string) {
	cmd := callbackCommand(res, state)
	if cmd == "" {
		return
	}
	tl.Infof("Running the %s callback", state)
	if cmd == dagspec.PythonCallback {
		key := map[string]string{tistate.Success: "on_success_callback", tistate.Failed: "on_failure_callback",
			tistate.UpForRetry: "on_retry_callback"}[state]
		cb := &pyCallback{Key: key, Reason: res.reason, Callables: res.task.PythonCallbacks[key]}
		runPythonCallback(ctx, log, tl, store, py, res.task, res.dag, res.run, res.ti, cb, state)
		return
	}
	task := *res.task
	task.BashCommand = cmd
	task.ExecutionTimeoutSec = 0
	p, err := prepare(ctx, store, &task, res.dag, res.run, res.ti)
	if err != nil {
		tl.Errorf("callback not run: template error: %v", err)
		return
	}
	p.extra["GUST_TASK_STATE"] = state
	p.extra["GUST_TASK_REASON"] = res.reason
	masked := p.masker.Writer(tl)
	out := runBash(ctx, tl, bashSpec{
		command: p.command,
		output:  masked,
		env:     taskEnv(&task, p.env, p.extra, res.dag, res.run, res.ti),
		cwd:     task.Cwd,
		timeout: callbackTimeout,
		mask:    p.masker.Mask,
	})
	_ = masked.Flush()
	if out.state != tistate.Success {
		tl.Errorf("the %s callback failed (the task stays %s): %s", state, state, out.reason)
		log.Warn("task callback failed", "state", state, "reason", out.reason)
	}
}

// RunDAGCallback runs a DAG's on_success_callback or on_failure_callback for
// a finished run, templated with the run's context, its output in
// {base_log_folder}/dag_id=D/run_id=R/dag_callback.log. A failing callback
// is logged; the run's state stays.
func RunDAGCallback(ctx context.Context, logger *slog.Logger, store Store, py *PythonRuntime, baseLogFolder string, dag *dagspec.DAG, run *metadb.DagRun) {
	if dagCallback(dag, run) == "" {
		return
	}
	path := filepath.Join(baseLogFolder, "dag_id="+run.DagID, "run_id="+run.RunID, "dag_callback.log")
	tl, err := openTaskLog(path)
	if err != nil {
		logger.Warn("cannot open the DAG callback log", logkey.Err, err)
		return
	}
	defer tl.Close()
	runDAGCallback(ctx, logger, tl, store, py, dag, run)
}

// RunLocalDAGCallback runs a DAG's callback for a finished run, its output
// to w: for dags test.
func RunLocalDAGCallback(ctx context.Context, w io.Writer, store *MemStore, py *PythonRuntime, dag *dagspec.DAG, run *metadb.DagRun) {
	if dagCallback(dag, run) != "" {
		runDAGCallback(ctx, slog.New(slog.DiscardHandler), &taskLog{f: nopCloser{w}}, store, py, dag, run)
	}
}

// dagCallback is the DAG's callback command for the run's end state.
func dagCallback(dag *dagspec.DAG, run *metadb.DagRun) string {
	if run.State == tistate.RunSuccess {
		return dag.OnSuccessCallback
	}
	return dag.OnFailureCallback
}

func runDAGCallback(ctx context.Context, logger *slog.Logger, tl *taskLog, store Store, py *PythonRuntime, dag *dagspec.DAG, run *metadb.DagRun) {
	cmd, key := dagCallback(dag, run), "on_failure_callback"
	if run.State == tistate.RunSuccess {
		key = "on_success_callback"
	}
	tl.Infof("Running the DAG's %s callback for run %s", run.State, run.RunID)
	task := &dagspec.Task{TaskID: "", Operator: dagspec.OperatorBash, BashCommand: cmd, Owner: dag.Owner}
	ti := &metadb.TaskInstance{TIKey: metadb.TIKey{DagID: run.DagID, RunID: run.RunID, MapIndex: -1}}
	if cmd == dagspec.PythonCallback {
		reason := "success"
		if run.State != tistate.RunSuccess {
			reason = "task_failure"
		}
		cb := &pyCallback{Key: key, Reason: reason, DAGLevel: true, Callables: dag.PythonCallbacks[key]}
		runPythonCallback(ctx, logger, tl, store, py, task, dag, run, ti, cb, run.State)
		return
	}
	p, err := prepare(ctx, store, task, dag, run, ti)
	if err != nil {
		tl.Errorf("callback not run: template error: %v", err)
		return
	}
	p.extra["GUST_DAG_RUN_STATE"] = run.State
	masked := p.masker.Writer(tl)
	out := runBash(ctx, tl, bashSpec{
		command: p.command, output: masked, env: taskEnv(task, p.env, p.extra, dag, run, ti),
		timeout: callbackTimeout, mask: p.masker.Mask,
	})
	_ = masked.Flush()
	if out.state != tistate.Success {
		tl.Errorf("the DAG %s callback failed (the run stays %s): %s", run.State, run.State, out.reason)
		logger.Warn("DAG callback failed", logkey.DagID, run.DagID, logkey.RunID, run.RunID, "reason", out.reason)
	}
}

// runPythonCallback calls a Python DAG file's callback (the task's, or the
// DAG's) on a warm process, with the context as its argument, its output
// in tl; a failing callback is logged and changes no state.
func runPythonCallback(ctx context.Context, log *slog.Logger, tl *taskLog, store Store, py *PythonRuntime, task *dagspec.Task,
	dag *dagspec.DAG, run *metadb.DagRun, ti *metadb.TaskInstance, cb *pyCallback, state string) {
	t := *task
	t.ExecutionTimeoutSec = callbackTimeout.Seconds()
	t.Python = nil // no arguments to render
	res, masker, _, err := callPython(ctx, tl, store, py, &t, dag, run, ti, cb)
	if err == nil && res.State != tistate.Success {
		err = errors.New(masker.Mask(res.Error))
	}
	if err != nil {
		tl.Errorf("the %s callback failed (the state stays %s): %v", state, state, err)
		log.Warn("Python callback failed", "callback", cb.Key, "state", state, logkey.Err, err)
	}
}
