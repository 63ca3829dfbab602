package worker

import (
	"context"
	"errors"
	"slices"

	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

// runsInPython reports whether the operator's try runs in gust_run.py,
// which calls the operator's pre_execute and post_execute itself.
func runsInPython(op string) bool {
	switch op {
	case dagspec.OperatorPython, dagspec.OperatorBranchPython, dagspec.OperatorShortCircuitPython, dagspec.OperatorPythonClass:
		return true
	}
	return false
}

// executeHook calls a Python DAG file's pre_execute or post_execute hook
// (BaseOperator's) of a task whose operator the worker runs itself, from
// the imported file, with the context (and for post_execute the result:
// the return value the try pushes). It returns the outlet events the hook
// set; an error (the hook raised) fails the try, as in Airflow.
func executeHook(ctx context.Context, tl *taskLog, store Store, py *PythonRuntime, task *dagspec.Task, dag *dagspec.DAG,
	run *metadb.DagRun, ti *metadb.TaskInstance, key string, value any) ([]pyOutletEvent, error) {
	if !slices.Contains(task.ExecuteHooks, key) || runsInPython(task.Operator) {
		return nil, nil
	}
	tl.Infof("Calling the task's %s", key)
	t := *task
	t.Python = nil // the hook takes no arguments to render
	res, masker, _, err := callPython(ctx, tl, store, py, &t, dag, run, ti, &pyCallback{Key: key, Result: value})
	if err != nil {
		return nil, err
	}
	if res.State != tistate.Success {
		return nil, errors.New(key + " failed: " + masker.Mask(res.Error))
	}
	return res.OutletEvents, nil
}
