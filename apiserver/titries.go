package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
)

// tiHistory is TaskInstanceHistoryResponse.
type tiHistory struct {
	TaskID          string              `json:"task_id"`
	DagID           string              `json:"dag_id"`
	DagRunID        string              `json:"dag_run_id"`
	MapIndex        int                 `json:"map_index"`
	StartDate       *time.Time          `json:"start_date"`
	EndDate         *time.Time          `json:"end_date"`
	Duration        *float64            `json:"duration"`
	State           *string             `json:"state"`
	TryNumber       int                 `json:"try_number"`
	MaxTries        int                 `json:"max_tries"`
	TaskDisplayName string              `json:"task_display_name"`
	DagDisplayName  string              `json:"dag_display_name"`
	Hostname        *string             `json:"hostname"`
	Unixname        *string             `json:"unixname"`
	Pool            string              `json:"pool"`
	PoolSlots       int                 `json:"pool_slots"`
	Queue           *string             `json:"queue"`
	PriorityWeight  *int                `json:"priority_weight"`
	Operator        *string             `json:"operator"`
	OperatorName    *string             `json:"operator_name"`
	QueuedWhen      *time.Time          `json:"queued_when"`
	ScheduledWhen   *time.Time          `json:"scheduled_when"`
	PID             *int                `json:"pid"`
	Executor        *string             `json:"executor"`
	ExecutorConfig  string              `json:"executor_config"`
	DagVersion      *dagVersionResponse `json:"dag_version"`
}

func historyOf(t tiResponse) tiHistory {
	return tiHistory{TaskID: t.TaskID, DagID: t.DagID, DagRunID: t.DagRunID, MapIndex: t.MapIndex, StartDate: t.StartDate,
		EndDate: t.EndDate, Duration: t.Duration, State: t.State, TryNumber: t.TryNumber, MaxTries: t.MaxTries,
		TaskDisplayName: t.TaskDisplayName, DagDisplayName: t.DagDisplayName, Hostname: t.Hostname, Unixname: t.Unixname,
		Pool: t.Pool, PoolSlots: t.PoolSlots, Queue: t.Queue, PriorityWeight: t.PriorityWeight, Operator: t.Operator,
		OperatorName: t.OperatorName, QueuedWhen: t.QueuedWhen, ScheduledWhen: t.ScheduledWhen, PID: t.PID,
		Executor: t.Executor, ExecutorConfig: t.ExecutorConfig, DagVersion: t.DagVersion}
}

// tries returns a TI's tries: each finished earlier try as its history
// row recorded it (state, host, pid, dates), then the current try's row. An
// earlier try with no history row (one that ended without its worker's
// result: a zombie, a clear while running, a database restored from before
// history was kept) shows its number as failed, with no dates.
func (s *Server) tries(ctx context.Context, k metadb.TIKey) ([]tiHistory, error) {
	t, versions, err := s.loadTI(ctx, k)
	if err != nil {
		return nil, err
	}
	cur := historyOf(s.tiResponse(t, versions))
	var past map[int]metadb.TryHistory
	if cur.TryNumber > 1 {
		if past, err = metadb.TriesOf(ctx, s.db.Pool, k); err != nil {
			return nil, err
		}
	}
	var out []tiHistory
	for n := 1; n < cur.TryNumber; n++ {
		h := cur
		h.TryNumber, h.StartDate, h.EndDate, h.Duration, h.Hostname, h.PID, h.QueuedWhen = n, nil, nil, nil, nil, nil, nil
		state := tistate.Failed
		if p, ok := past[n]; ok {
			state = p.State
			h.StartDate, h.EndDate, h.Duration, h.PID, h.QueuedWhen = utcp(p.StartDate), utcp(p.EndDate), p.Duration, p.PID, utcp(p.QueuedDttm)
			if p.Hostname != "" {
				h.Hostname = strp(p.Hostname)
			}
		}
		h.State = strp(state)
		out = append(out, h)
	}
	if cur.TryNumber > 0 {
		out = append(out, cur)
	}
	return out, nil
}

func (s *Server) getTaskInstanceTries(w http.ResponseWriter, r *http.Request) error {
	k, err := tiKey(r)
	if err != nil {
		return err
	}
	ts, err := s.tries(r.Context(), k)
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []tiHistory{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"task_instances": ts, "total_entries": len(ts)})
	return nil
}

func (s *Server) getTaskInstanceTry(w http.ResponseWriter, r *http.Request) error {
	k, err := tiKey(r)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("task_try_number"))
	if err != nil {
		return invalid("Input should be a valid integer, unable to parse string as an integer", "int_parsing", "path", "task_try_number")
	}
	ts, err := s.tries(r.Context(), k)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.TryNumber == n {
			writeJSON(w, http.StatusOK, t)
			return nil
		}
	}
	return errorf(http.StatusNotFound, "The Task Instance with dag_id: `%s`, run_id: `%s`, task_id: `%s`, try_number: `%d` and map_index: `%d` was not found",
		k.DagID, k.RunID, k.TaskID, n, k.MapIndex)
}

type taskDependency struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// getTaskInstanceDependencies says why a task instance is not running
// yet, in the words of Airflow's dependency checks: its state, its
// upstream tasks against its trigger rule, its retry delay, its pool.
func (s *Server) getTaskInstanceDependencies(w http.ResponseWriter, r *http.Request) error {
	k, err := tiKey(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, _, err := s.loadTI(ctx, k)
	if err != nil {
		return err
	}
	deps := []taskDependency{}
	switch t.State {
	case tistate.Running, tistate.Success, tistate.Failed, tistate.Skipped, tistate.UpstreamFailed:
		deps = append(deps, taskDependency{Name: "Task Instance State",
			Reason: fmt.Sprintf("Task is in the '%s' state.", t.State)})
		writeJSON(w, http.StatusOK, map[string]any{"dependencies": deps})
		return nil
	}
	run, err := s.loadRun(ctx, k.DagID, k.RunID)
	if err != nil {
		return err
	}
	dag, err := s.dags.Get(ctx, s.db.Pool, run.DagHash)
	if err != nil {
		return err
	}
	if row, err := metadb.GetDAG(ctx, s.db.Pool, k.DagID); err == nil && row.IsPaused {
		deps = append(deps, taskDependency{Name: "Dag Not Paused", Reason: "Task's DAG '" + k.DagID + "' is paused."})
	}
	if run.State == tistate.RunQueued {
		deps = append(deps, taskDependency{Name: "Dagrun Running", Reason: "Task instance's dagrun was not in the 'running' state but in the state 'queued'."})
	}
	if task := dag.Task(k.TaskID); task != nil && len(task.Upstream) > 0 {
		rows, _, err := metadb.ListTIsPage(ctx, s.db.Pool, metadb.TIFilter{DagID: k.DagID, RunID: k.RunID, TaskIDs: task.Upstream},
			metadb.Page{Limit: len(task.Upstream) + 1})
		if err != nil {
			return err
		}
		counts := map[string]int{}
		for _, u := range rows {
			st := u.State
			if st == "" {
				st = "none"
			}
			counts[st]++
		}
		done := counts[tistate.Success] + counts[tistate.Skipped] + counts[tistate.Failed] + counts[tistate.UpstreamFailed]
		if t.State == "" && done < len(task.Upstream) {
			deps = append(deps, taskDependency{Name: "Trigger Rule",
				Reason: fmt.Sprintf("Task's trigger rule '%s' requires all upstream tasks to have succeeded, but found %d non-success(es). upstream_states=%v, upstream_task_ids=%v",
					task.TriggerRule, len(task.Upstream)-counts[tistate.Success], counts, task.Upstream)})
		}
	}
	if t.State == tistate.UpForRetry && t.NextRetryAt != nil && t.NextRetryAt.After(s.now()) {
		deps = append(deps, taskDependency{Name: "Not In Retry Period",
			Reason: fmt.Sprintf("Task is not ready for retry yet but will be retried automatically. Current date is %s and task will be retried at %s.",
				s.now().UTC().Format(time.RFC3339), t.NextRetryAt.UTC().Format(time.RFC3339))})
	}
	if t.State == tistate.Scheduled {
		if p, err := metadb.GetPool(ctx, s.db.Pool, t.Pool); err == nil && p.Slots >= 0 && p.OpenSlots() < t.PoolSlots {
			deps = append(deps, taskDependency{Name: "Pool Slots Available",
				Reason: fmt.Sprintf("Not scheduling since there are %d open slots in pool %s and require %d pool slots", max(p.OpenSlots(), 0), t.Pool, t.PoolSlots)})
		}
	}
	if t.State == tistate.Queued {
		deps = append(deps, taskDependency{Name: "Task Instance State", Reason: "Task is in the 'queued' state: waiting for a worker of queue '" + t.Queue + "'."})
	}
	writeJSON(w, http.StatusOK, map[string]any{"dependencies": deps})
	return nil
}
