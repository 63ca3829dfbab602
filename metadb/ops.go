package metadb

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Operator actions: clear, set state, delete. Each takes the run row lock
// before touching its task instances (lock order dag -> dag_run -> TI).

// LockRunsBetween locks a DAG's runs with a logical date in [start, end]
// (nil bounds are open), oldest first.
func LockRunsBetween(ctx context.Context, tx pgx.Tx, dagID string, start, end *time.Time) ([]*DagRun, error) {
	rows, err := tx.Query(ctx, `SELECT `+dagRunColumns+` FROM dag_run WHERE dag_id = $1
		AND ($2::timestamptz IS NULL OR logical_date >= $2) AND ($3::timestamptz IS NULL OR logical_date <= $3)
		ORDER BY logical_date FOR UPDATE`, dagID, start, end)
	out, err := collectDagRuns(rows, err)
	if err != nil {
		return nil, fmt.Errorf("lock runs of %s: %w", dagID, err)
	}
	return out, nil
}

// LockRun locks one run.
func LockRun(ctx context.Context, tx pgx.Tx, dagID, runID string) (*DagRun, error) {
	r, err := scanDagRun(tx.QueryRow(ctx, `SELECT `+dagRunColumns+` FROM dag_run WHERE dag_id = $1 AND run_id = $2 FOR UPDATE`, dagID, runID))
	if err == pgx.ErrNoRows {
		return nil, fmt.Errorf("dag run %s/%s: %w", dagID, runID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("lock dag run %s/%s: %w", dagID, runID, err)
	}
	return r, nil
}

// ClearTIs resets task instances of one run to none, so that the scheduler
// runs them again with new try numbers and their retries afresh (Airflow's
// max_tries = try_number + retries). A running try is stopped by its worker,
// whose heartbeat finds the TI no longer running. retries maps each task
// instance to its task's retries. It returns how many TIs were cleared.
func ClearTIs(ctx context.Context, tx pgx.Tx, dagID, runID string, retries map[TIKey]int) (int, error) {
	if len(retries) == 0 {
		return 0, nil
	}
	ids := make([]string, 0, len(retries))
	idx := make([]int32, 0, len(retries))
	rs := make([]int32, 0, len(retries))
	for k, r := range retries {
		ids = append(ids, k.TaskID)
		idx = append(idx, int32(k.MapIndex))
		rs = append(rs, int32(r))
	}
	tag, err := tx.Exec(ctx, `UPDATE task_instance ti SET state = NULL, max_tries = ti.try_number + r.retries,
			hostname = '', pid = NULL, queued_dttm = NULL, queued_by_job_id = NULL, end_date = NULL, duration = NULL,
			next_retry_at = NULL, last_heartbeat_at = NULL, updated_at = now(), sensor_started_at = NULL
		FROM unnest($3::text[], $4::int[], $5::int[]) AS r(task_id, map_index, retries)
		WHERE ti.dag_id = $1 AND ti.run_id = $2 AND ti.task_id = r.task_id AND ti.map_index = r.map_index`, dagID, runID, ids, idx, rs)
	if err != nil {
		return 0, fmt.Errorf("clear task instances of %s/%s: %w", dagID, runID, err)
	}
	return int(tag.RowsAffected()), nil
}

// RequeueRun puts a run back to queued so that the scheduler examines it
// again (after a clear or a state change); the scheduler admits it under
// max_active_runs and sets its start date anew.
func RequeueRun(ctx context.Context, tx pgx.Tx, id int64) error {
	_, err := tx.Exec(ctx, `UPDATE dag_run SET state = 'queued', queued_at = now(), start_date = NULL, end_date = NULL,
		last_scheduling_decision = NULL WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("requeue dag run %d: %w", id, err)
	}
	return nil
}

// SetTIStates sets task instances of one run to a final state by hand
// (mark success / failed). A running try is stopped by its worker. It
// returns how many TIs changed.
func SetTIStates(ctx context.Context, tx pgx.Tx, dagID, runID string, keys []TIKey, state string) (int, error) {
	_, _, tasks, idx := keyArrays(keys)
	tag, err := tx.Exec(ctx, `UPDATE task_instance ti SET state = $5, end_date = now(), next_retry_at = NULL, updated_at = now(),
			start_date = coalesce(start_date, now())
		FROM unnest($3::text[], $4::int[]) AS k(task_id, map_index)
		WHERE ti.dag_id = $1 AND ti.run_id = $2 AND ti.task_id = k.task_id AND ti.map_index = k.map_index
			AND ti.state IS DISTINCT FROM $5`, dagID, runID, tasks, idx, state)
	if err != nil {
		return 0, fmt.Errorf("set state of %s/%s: %w", dagID, runID, err)
	}
	return int(tag.RowsAffected()), nil
}

// DeleteDAG deletes a DAG's metadata: the dag row, its runs and task
// instances (by cascade) and its serialized versions. The DAG comes back if
// its file still defines it, as in Airflow. It returns the runs deleted.
func DeleteDAG(ctx context.Context, tx pgx.Tx, dagID string) (int, error) {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM dag WHERE dag_id = $1 FOR UPDATE`, dagID); err != nil {
		return 0, fmt.Errorf("lock dag %s: %w", dagID, err)
	}
	var runs int
	if err := tx.QueryRow(ctx, `WITH d AS (DELETE FROM dag_run WHERE dag_id = $1 RETURNING 1) SELECT count(*) FROM d`, dagID).Scan(&runs); err != nil {
		return 0, fmt.Errorf("delete runs of %s: %w", dagID, err)
	}
	tag, err := tx.Exec(ctx, `DELETE FROM dag WHERE dag_id = $1`, dagID)
	if err != nil {
		return 0, fmt.Errorf("delete dag %s: %w", dagID, err)
	}
	if tag.RowsAffected() == 0 {
		return 0, fmt.Errorf("dag %q: %w", dagID, ErrNotFound)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM serialized_dag WHERE dag_id = $1`, dagID); err != nil {
		return 0, fmt.Errorf("delete versions of %s: %w", dagID, err)
	}
	return runs, nil
}

// PrevRunTIStates returns the task states of the DAG's run just before the
// given logical date (any run type, as Airflow's get_previous_dagrun), and
// whether there is such a run.
func PrevRunTIStates(ctx context.Context, q DBTX, dagID string, before time.Time) (map[string]string, bool, error) {
	var runID string
	err := q.QueryRow(ctx, `SELECT run_id FROM dag_run WHERE dag_id = $1 AND logical_date < $2
		ORDER BY logical_date DESC LIMIT 1`, dagID, before).Scan(&runID)
	if err == pgx.ErrNoRows {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("previous run of %s: %w", dagID, err)
	}
	rows, err := q.Query(ctx, `SELECT task_id, coalesce(state, '') FROM task_instance
		WHERE dag_id = $1 AND run_id = $2 AND state IS DISTINCT FROM 'removed'`, dagID, runID)
	if err != nil {
		return nil, false, fmt.Errorf("previous run of %s: %w", dagID, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var task, state string
		if err := rows.Scan(&task, &state); err != nil {
			return nil, false, fmt.Errorf("previous run of %s: %w", dagID, err)
		}
		// A mapped task's: the first instance not success or skipped.
		if prior, seen := out[task]; !seen || prior == "success" || prior == "skipped" {
			out[task] = state
		}
	}
	return out, true, rows.Err()
}

// SkipUnfinished sets every unfinished task instance of a run to skipped
// (dagrun_timeout); a running try is stopped by its worker.
func SkipUnfinished(ctx context.Context, tx pgx.Tx, dagID, runID string) (int, error) {
	tag, err := tx.Exec(ctx, `UPDATE task_instance SET state = 'skipped', end_date = now(), updated_at = now()
		WHERE dag_id = $1 AND run_id = $2
		AND (state IS NULL OR state NOT IN ('success', 'failed', 'skipped', 'upstream_failed', 'removed'))`, dagID, runID)
	if err != nil {
		return 0, fmt.Errorf("skip unfinished tasks of %s/%s: %w", dagID, runID, err)
	}
	return int(tag.RowsAffected()), nil
}

// FinishUnfinishedTIs ends every unfinished task instance of a run by hand:
// running ones take runningTo, the others (none, scheduled, queued, up for
// retry or reschedule) take othersTo.
func FinishUnfinishedTIs(ctx context.Context, tx pgx.Tx, dagID, runID, runningTo, othersTo string) error {
	_, err := tx.Exec(ctx, `UPDATE task_instance SET
			state = CASE WHEN state = 'running' THEN $3 ELSE $4 END,
			end_date = now(), start_date = coalesce(start_date, now()), next_retry_at = NULL, updated_at = now()
		WHERE dag_id = $1 AND run_id = $2
			AND (state IS NULL OR state NOT IN ('success', 'failed', 'skipped', 'upstream_failed', 'removed'))`,
		dagID, runID, runningTo, othersTo)
	if err != nil {
		return fmt.Errorf("finish task instances of %s/%s: %w", dagID, runID, err)
	}
	return nil
}
