package metadb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DagRun is one row of dag_run.
type DagRun struct {
	ID                int64          `json:"-"`
	DagID             string         `json:"dag_id"`
	RunID             string         `json:"run_id"`
	LogicalDate       time.Time      `json:"logical_date"`
	DataIntervalStart *time.Time     `json:"data_interval_start"`
	DataIntervalEnd   *time.Time     `json:"data_interval_end"`
	State             string         `json:"state"`
	RunType           string         `json:"run_type"`
	ExternalTrigger   bool           `json:"external_trigger"`
	Conf              map[string]any `json:"conf"`
	DagHash           string         `json:"dag_hash"`
	QueuedAt          *time.Time     `json:"queued_at"`
	StartDate         *time.Time     `json:"start_date"`
	EndDate           *time.Time     `json:"end_date"`
	Note              *string        `json:"note,omitempty"`
	TriggeringUser    *string        `json:"triggering_user_name,omitempty"`
	BackfillID        *int64         `json:"backfill_id,omitempty"`
}

const dagRunColumns = `id, dag_id, run_id, logical_date, data_interval_start, data_interval_end, state, run_type,
	external_trigger, conf, dag_hash, queued_at, start_date, end_date, note, triggering_user_name, backfill_id`

func scanDagRun(row pgx.Row) (*DagRun, error) {
	var r DagRun
	err := row.Scan(&r.ID, &r.DagID, &r.RunID, &r.LogicalDate, &r.DataIntervalStart, &r.DataIntervalEnd,
		&r.State, &r.RunType, &r.ExternalTrigger, &r.Conf, &r.DagHash, &r.QueuedAt, &r.StartDate, &r.EndDate,
		&r.Note, &r.TriggeringUser, &r.BackfillID)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func collectDagRuns(rows pgx.Rows, err error) ([]*DagRun, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*DagRun
	for rows.Next() {
		r, err := scanDagRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ErrDuplicateRun is returned when a run with the same run_id or logical
// date already exists for the DAG.
var ErrDuplicateRun = errors.New("dag run already exists")

// NewTI is a task instance to create with its run.
type NewTI struct {
	TaskID         string
	Operator       string
	MaxTries       int
	Pool           string
	PoolSlots      int
	Queue          string
	PriorityWeight int
}

// InsertDagRun creates a run in state queued with its task instances (all in
// state none). A duplicate run_id or logical date gives ErrDuplicateRun,
// naming which.
func InsertDagRun(ctx context.Context, tx pgx.Tx, r *DagRun, tis []NewTI) error {
	conf := r.Conf
	if conf == nil {
		conf = map[string]any{}
	}
	// A savepoint keeps the caller's transaction usable after a conflict.
	err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
		return sp.QueryRow(ctx, `INSERT INTO dag_run (dag_id, run_id, logical_date, data_interval_start, data_interval_end,
				state, run_type, external_trigger, conf, dag_hash, queued_at, note, triggering_user_name, backfill_id)
			VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, now(), $10, $11, $12) RETURNING id, queued_at`,
			r.DagID, r.RunID, r.LogicalDate, r.DataIntervalStart, r.DataIntervalEnd, r.RunType,
			r.ExternalTrigger, conf, r.DagHash, r.Note, r.TriggeringUser, r.BackfillID).Scan(&r.ID, &r.QueuedAt)
	})
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			if pgErr.ConstraintName == "dag_run_dag_id_logical_date_key" {
				return fmt.Errorf("%w: dag %s already has a run with logical date %s",
					ErrDuplicateRun, r.DagID, r.LogicalDate.UTC().Format(time.RFC3339))
			}
			return fmt.Errorf("%w: dag %s already has a run with run_id %s", ErrDuplicateRun, r.DagID, r.RunID)
		}
		return fmt.Errorf("insert dag run %s/%s: %w", r.DagID, r.RunID, err)
	}
	r.State = "queued"
	if len(tis) == 0 {
		return nil
	}
	n := len(tis)
	ids, ops, pools, queues := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	maxTries, slots, weights := make([]int32, n), make([]int32, n), make([]int32, n)
	for i, t := range tis {
		ids[i], ops[i], pools[i], queues[i] = t.TaskID, t.Operator, t.Pool, t.Queue
		maxTries[i], slots[i], weights[i] = int32(t.MaxTries), int32(t.PoolSlots), int32(t.PriorityWeight)
	}
	_, err = tx.Exec(ctx, `INSERT INTO task_instance (dag_id, run_id, task_id, operator, max_tries, pool, pool_slots, queue, priority_weight)
		SELECT $1, $2, t.task_id, t.op, t.max_tries, t.pool, t.slots, t.queue, t.weight
		FROM unnest($3::text[], $4::text[], $5::int[], $6::text[], $7::int[], $8::text[], $9::int[])
			AS t(task_id, op, max_tries, pool, slots, queue, weight)`,
		r.DagID, r.RunID, ids, ops, maxTries, pools, slots, queues, weights)
	if err != nil {
		return fmt.Errorf("create task instances of %s/%s: %w", r.DagID, r.RunID, err)
	}
	return nil
}

// CountActiveRuns counts a DAG's queued and running runs, either those that
// are not backfills or (backfill true) the backfills: as in Airflow, the two
// are held to max_active_runs separately.
func CountActiveRuns(ctx context.Context, q DBTX, dagID string, backfill bool) (queued, running int, err error) {
	err = q.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'running')
		FROM dag_run WHERE dag_id = $1 AND state IN ('queued', 'running') AND (run_type = 'backfill') = $2`, dagID, backfill).Scan(&queued, &running)
	if err != nil {
		return 0, 0, fmt.Errorf("count active runs of %s: %w", dagID, err)
	}
	return queued, running, nil
}

// LastAutomatedInterval returns the data interval of the DAG's latest
// scheduled run, or nil.
func LastAutomatedInterval(ctx context.Context, q DBTX, dagID string) (start, end *time.Time, err error) {
	err = q.QueryRow(ctx, `SELECT data_interval_start, data_interval_end FROM dag_run
		WHERE dag_id = $1 AND run_type = 'scheduled' ORDER BY logical_date DESC LIMIT 1`, dagID).Scan(&start, &end)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("last scheduled run of %s: %w", dagID, err)
	}
	return start, end, nil
}

// LockRunsToExamine locks, skipping those other schedulers hold, up to
// limit queued or running runs of unpaused DAGs, least recently examined
// first.
func LockRunsToExamine(ctx context.Context, tx pgx.Tx, limit int) ([]*DagRun, error) {
	rows, err := tx.Query(ctx, `SELECT `+prefixed("dr.", dagRunColumns)+` FROM dag_run dr JOIN dag d USING (dag_id)
		WHERE dr.state IN ('queued', 'running') AND NOT d.is_paused
		ORDER BY dr.last_scheduling_decision NULLS FIRST, dr.id LIMIT $1 FOR UPDATE OF dr SKIP LOCKED`, limit)
	out, err := collectDagRuns(rows, err)
	if err != nil {
		return nil, fmt.Errorf("lock runs to examine: %w", err)
	}
	return out, nil
}

// SetRunState moves a run from one state to another and records that it was
// examined. Finished states set end_date; running sets start_date once.
func SetRunState(ctx context.Context, q DBTX, id int64, from, to string) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE dag_run SET state = $3, last_scheduling_decision = now(),
		start_date = CASE WHEN $3 = 'running' THEN coalesce(start_date, now()) ELSE start_date END,
		end_date = CASE WHEN $3 IN ('success', 'failed') THEN now() ELSE NULL END
		WHERE id = $1 AND state = $2`, id, from, to)
	if err != nil {
		return false, fmt.Errorf("set run %d %s -> %s: %w", id, from, to, err)
	}
	return tag.RowsAffected() == 1, nil
}

// MarkRunsExamined records the scheduling decision time of runs.
func MarkRunsExamined(ctx context.Context, q DBTX, ids []int64) error {
	_, err := q.Exec(ctx, `UPDATE dag_run SET last_scheduling_decision = now() WHERE id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("mark runs examined: %w", err)
	}
	return nil
}

// GetDagRun returns one run.
func GetDagRun(ctx context.Context, q DBTX, dagID, runID string) (*DagRun, error) {
	r, err := scanDagRun(q.QueryRow(ctx, `SELECT `+dagRunColumns+` FROM dag_run WHERE dag_id = $1 AND run_id = $2`, dagID, runID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("dag run %s/%s: %w", dagID, runID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get dag run %s/%s: %w", dagID, runID, err)
	}
	return r, nil
}

// ListDagRuns returns a DAG's runs, newest logical date first, optionally
// filtered by state.
func ListDagRuns(ctx context.Context, q DBTX, dagID, state string, limit int) ([]*DagRun, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := q.Query(ctx, `SELECT `+dagRunColumns+` FROM dag_run WHERE dag_id = $1 AND ($2 = '' OR state = $2)
		ORDER BY logical_date DESC LIMIT $3`, dagID, state, limit)
	out, err := collectDagRuns(rows, err)
	if err != nil {
		return nil, fmt.Errorf("list runs of %s: %w", dagID, err)
	}
	return out, nil
}

// SetRunNote sets (nil: clears) a run's note.
func SetRunNote(ctx context.Context, q DBTX, dagID, runID string, note *string) error {
	tag, err := q.Exec(ctx, `UPDATE dag_run SET note = $3 WHERE dag_id = $1 AND run_id = $2`, dagID, runID, note)
	if err != nil {
		return fmt.Errorf("set note of %s/%s: %w", dagID, runID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("dag run %s/%s: %w", dagID, runID, ErrNotFound)
	}
	return nil
}

// DeleteDagRun deletes a run with its task instances and XComs. A worker
// running one of its tries stops it at its next heartbeat.
func DeleteDagRun(ctx context.Context, q DBTX, dagID, runID string) error {
	tag, err := q.Exec(ctx, `DELETE FROM dag_run WHERE dag_id = $1 AND run_id = $2`, dagID, runID)
	if err != nil {
		return fmt.Errorf("delete dag run %s/%s: %w", dagID, runID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("dag run %s/%s: %w", dagID, runID, ErrNotFound)
	}
	return nil
}

// RecentRuns returns each DAG's latest runs (up to limit per DAG, newest
// first by Airflow's run_after), keyed by dag_id, in one query: the DAG list's
// recent-run marks.
func RecentRuns(ctx context.Context, q DBTX, dagIDs []string, limit int) (map[string][]*DagRun, error) {
	rows, err := q.Query(ctx, `SELECT `+prefixed("r.", dagRunColumns)+` FROM unnest($1::text[]) AS d(dag_id)
		CROSS JOIN LATERAL (SELECT * FROM dag_run r WHERE r.dag_id = d.dag_id
			ORDER BY `+runAfter+` DESC, r.id DESC LIMIT $2) r`, dagIDs, limit)
	runs, err := collectDagRuns(rows, err)
	if err != nil {
		return nil, fmt.Errorf("list recent dag runs: %w", err)
	}
	out := make(map[string][]*DagRun, len(dagIDs))
	for _, r := range runs {
		out[r.DagID] = append(out[r.DagID], r)
	}
	return out, nil
}

// GridCell is a task's state in one run for the grid view: a mapped task's
// instances are summed up as the most pressing of their states, as
// Airflow's grid does.
type GridCell struct {
	RunID     string `json:"dag_run_id"`
	TaskID    string `json:"task_id"`
	State     string `json:"state"` // "" is none
	TryNumber int    `json:"try_number"`
	Instances int    `json:"instances"` // > 1 for a mapped task
}

// gridPriority orders task instance states from the most pressing, which a
// mapped task's cell shows; "" is no state.
var gridPriority = []string{"failed", "upstream_failed", "up_for_retry", "up_for_reschedule", "running", "restarting",
	"deferred", "queued", "scheduled", "", "skipped", "removed", "success"}

// MostPressing returns the more pressing of two states ("" is no state),
// as a task group's grid cell shows its tasks'.
func MostPressing(a, b string) string {
	if slices.Index(gridPriority, b) < slices.Index(gridPriority, a) {
		return b
	}
	return a
}

// GridCells returns the cells of the given runs of a DAG, in one query that
// aggregates integers only (a state's rank, not the state), so that 100 runs
// of 1,000 tasks take one pass.
func GridCells(ctx context.Context, q DBTX, dagID string, runIDs []string) ([]GridCell, error) {
	rows, err := q.Query(ctx, `SELECT run_id, task_id,
		coalesce(min(array_position($3::text[], coalesce(state, ''))), 10), max(try_number), count(*)
		FROM task_instance WHERE dag_id = $1 AND run_id = ANY($2) GROUP BY run_id, task_id`, dagID, runIDs, gridPriority)
	if err != nil {
		return nil, fmt.Errorf("grid of %s: %w", dagID, err)
	}
	var c GridCell
	var rank int
	cells, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (GridCell, error) {
		err := r.Scan(&c.RunID, &c.TaskID, &rank, &c.TryNumber, &c.Instances)
		c.State = gridPriority[min(max(rank, 1), len(gridPriority))-1]
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("grid of %s: %w", dagID, err)
	}
	return cells, nil
}
