package metadb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// TIKey names one task instance.
type TIKey struct {
	DagID    string `json:"dag_id"`
	RunID    string `json:"run_id"`
	TaskID   string `json:"task_id"`
	MapIndex int    `json:"map_index"`
}

func (k TIKey) String() string {
	if k.MapIndex >= 0 {
		return fmt.Sprintf("%s/%s/%s[%d]", k.DagID, k.RunID, k.TaskID, k.MapIndex)
	}
	return k.DagID + "/" + k.RunID + "/" + k.TaskID
}

// TaskInstance is one row of task_instance. State "" is Airflow's none.
type TaskInstance struct {
	TIKey
	State           string     `json:"state"`
	TryNumber       int        `json:"try_number"`
	MaxTries        int        `json:"max_tries"`
	Operator        string     `json:"operator"`
	Pool            string     `json:"pool"`
	PoolSlots       int        `json:"pool_slots"`
	Queue           string     `json:"queue"`
	PriorityWeight  int        `json:"priority_weight"`
	Hostname        string     `json:"hostname"`
	PID             *int       `json:"pid"`
	QueuedDttm      *time.Time `json:"queued_dttm"`
	QueuedByJobID   *int64     `json:"queued_by_job_id"`
	StartDate       *time.Time `json:"start_date"`
	EndDate         *time.Time `json:"end_date"`
	Duration        *float64   `json:"duration"`
	NextRetryAt     *time.Time `json:"next_retry_at"`
	LastHeartbeatAt *time.Time `json:"last_heartbeat_at"`
	SensorStartedAt *time.Time `json:"sensor_started_at"`
	Note            *string    `json:"note,omitempty"`
	// RenderedMapIndex is a mapped instance's map_index_template as its
	// last try rendered it (nil: none).
	RenderedMapIndex *string `json:"rendered_map_index,omitempty"`
}

const tiColumns = `dag_id, run_id, task_id, map_index, coalesce(state, ''), try_number, max_tries, operator, pool,
	pool_slots, queue, priority_weight, hostname, pid, queued_dttm, queued_by_job_id, start_date, end_date, duration,
	next_retry_at, last_heartbeat_at, sensor_started_at, note, rendered_map_index`

// tiTargets are the Scan destinations of tiColumns, then more.
func tiTargets(t *TaskInstance, more ...any) []any {
	return append([]any{&t.DagID, &t.RunID, &t.TaskID, &t.MapIndex, &t.State, &t.TryNumber, &t.MaxTries, &t.Operator,
		&t.Pool, &t.PoolSlots, &t.Queue, &t.PriorityWeight, &t.Hostname, &t.PID, &t.QueuedDttm, &t.QueuedByJobID,
		&t.StartDate, &t.EndDate, &t.Duration, &t.NextRetryAt, &t.LastHeartbeatAt, &t.SensorStartedAt, &t.Note,
		&t.RenderedMapIndex}, more...)
}

func scanTI(row pgx.Row) (*TaskInstance, error) {
	var t TaskInstance
	if err := row.Scan(tiTargets(&t)...); err != nil {
		return nil, err
	}
	return &t, nil
}

func collectTIs(rows pgx.Rows, err error) ([]*TaskInstance, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*TaskInstance
	for rows.Next() {
		t, err := scanTI(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ListRunTIs returns the task instances of one run, by task id.
func ListRunTIs(ctx context.Context, q DBTX, dagID, runID string) ([]*TaskInstance, error) {
	rows, err := q.Query(ctx, `SELECT `+tiColumns+` FROM task_instance WHERE dag_id = $1 AND run_id = $2
		ORDER BY task_id, map_index`, dagID, runID)
	out, err := collectTIs(rows, err)
	if err != nil {
		return nil, fmt.Errorf("list task instances of %s/%s: %w", dagID, runID, err)
	}
	return out, nil
}

// GetTI returns one task instance.
func GetTI(ctx context.Context, q DBTX, k TIKey) (*TaskInstance, error) {
	t, err := scanTI(q.QueryRow(ctx, `SELECT `+tiColumns+` FROM task_instance
		WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4`, k.DagID, k.RunID, k.TaskID, k.MapIndex))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("task instance %s: %w", k, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get task instance %s: %w", k, err)
	}
	return t, nil
}

// Decision is a scheduler's state change for one task instance of a run:
// from the state it was seen in, to a new one, optionally starting a new try.
type Decision struct {
	TaskID   string
	MapIndex int
	From     string // expected current state ("" = none)
	To       string
	NewTry   bool
}

// ApplyDecisions writes a run's decisions in one statement. Each update is
// guarded by the state it was decided from; it returns how many applied.
func ApplyDecisions(ctx context.Context, q DBTX, dagID, runID string, ds []Decision) (int64, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	n := len(ds)
	ids, froms, tos := make([]string, n), make([]string, n), make([]string, n)
	idx, inc := make([]int32, n), make([]int32, n)
	for i, d := range ds {
		ids[i], froms[i], tos[i], idx[i] = d.TaskID, d.From, d.To, int32(d.MapIndex)
		if d.NewTry {
			inc[i] = 1
		}
	}
	tag, err := q.Exec(ctx, `UPDATE task_instance ti SET state = d.to_state, try_number = ti.try_number + d.inc,
			start_date = CASE WHEN d.to_state IN ('skipped', 'upstream_failed') THEN now() ELSE ti.start_date END,
			end_date = CASE WHEN d.to_state IN ('skipped', 'upstream_failed') THEN now() ELSE ti.end_date END,
			duration = CASE WHEN d.to_state IN ('skipped', 'upstream_failed') THEN 0 ELSE ti.duration END,
			next_retry_at = NULL, updated_at = now(),
			sensor_started_at = CASE WHEN d.inc = 1 THEN NULL ELSE ti.sensor_started_at END
		FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::int[]) AS d(task_id, map_index, from_state, to_state, inc)
		WHERE ti.dag_id = $1 AND ti.run_id = $2 AND ti.task_id = d.task_id AND ti.map_index = d.map_index
			AND ti.state IS NOT DISTINCT FROM nullif(d.from_state, '')`,
		dagID, runID, ids, idx, froms, tos, inc)
	if err != nil {
		return 0, fmt.Errorf("apply decisions to %s/%s: %w", dagID, runID, err)
	}
	return tag.RowsAffected(), nil
}

// LockPoolsNowait locks every pool row for the critical section. If another
// scheduler holds them it returns an error for which IsLockNotAvailable is
// true.
func LockPoolsNowait(ctx context.Context, tx pgx.Tx) (map[string]int, error) {
	rows, err := tx.Query(ctx, `SELECT pool, slots FROM slot_pool ORDER BY pool FOR UPDATE NOWAIT`)
	if err != nil {
		return nil, fmt.Errorf("lock pools: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name string
		var slots int
		if err := rows.Scan(&name, &slots); err != nil {
			return nil, fmt.Errorf("lock pools: %w", err)
		}
		out[name] = slots
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lock pools: %w", err)
	}
	return out, nil
}

// Occupancy is what queued and running task instances hold right now.
type Occupancy struct {
	Total      int                       // task instances (for parallelism)
	PoolSlots  map[string]int            // slots used per pool
	PerDag     map[string]int            // task instances per dag (max_active_tasks)
	PerDagTask map[string]map[string]int // per dag and task (max_active_tis_per_dag)
	PerRunTask map[RunTask]int           // per run and task (max_active_tis_per_dagrun)
}

// RunTask names a task in one run.
type RunTask struct{ DagID, RunID, TaskID string }

// ReadOccupancy counts queued and running task instances.
func ReadOccupancy(ctx context.Context, q DBTX) (*Occupancy, error) {
	rows, err := q.Query(ctx, `SELECT dag_id, run_id, task_id, pool, count(*), sum(pool_slots) FROM task_instance
		WHERE state IN ('queued', 'running') GROUP BY dag_id, run_id, task_id, pool`)
	if err != nil {
		return nil, fmt.Errorf("read occupancy: %w", err)
	}
	defer rows.Close()
	o := &Occupancy{PoolSlots: map[string]int{}, PerDag: map[string]int{}, PerDagTask: map[string]map[string]int{},
		PerRunTask: map[RunTask]int{}}
	for rows.Next() {
		var dagID, runID, taskID, pool string
		var n, slots int
		if err := rows.Scan(&dagID, &runID, &taskID, &pool, &n, &slots); err != nil {
			return nil, fmt.Errorf("read occupancy: %w", err)
		}
		o.Total += n
		o.PoolSlots[pool] += slots
		o.PerDag[dagID] += n
		if o.PerDagTask[dagID] == nil {
			o.PerDagTask[dagID] = map[string]int{}
		}
		o.PerDagTask[dagID][taskID] += n
		o.PerRunTask[RunTask{dagID, runID, taskID}] += n
	}
	return o, rows.Err()
}

// Candidate is a scheduled task instance that may be queued.
type Candidate struct {
	TIKey
	TryNumber      int
	Pool           string
	PoolSlots      int
	Queue          string
	PriorityWeight int
	DagHash        string
	MaxActiveTasks int
}

// ScheduledCandidates returns up to limit scheduled task instances of
// running runs of unpaused DAGs, highest priority first, then oldest
// logical date, skipping pools and DAGs that are already full.
func ScheduledCandidates(ctx context.Context, q DBTX, limit int, fullPools, fullDags []string) ([]Candidate, error) {
	if fullPools == nil {
		fullPools = []string{}
	}
	if fullDags == nil {
		fullDags = []string{}
	}
	rows, err := q.Query(ctx, `SELECT ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number, ti.pool, ti.pool_slots,
			ti.queue, ti.priority_weight, dr.dag_hash, d.max_active_tasks
		FROM task_instance ti
		JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id
		JOIN dag d ON d.dag_id = ti.dag_id
		WHERE ti.state = 'scheduled' AND dr.state = 'running' AND NOT d.is_paused
			AND ti.pool <> ALL($2) AND ti.dag_id <> ALL($3)
		ORDER BY ti.priority_weight DESC, dr.logical_date, ti.task_id, ti.map_index
		LIMIT $1`, limit, fullPools, fullDags)
	if err != nil {
		return nil, fmt.Errorf("select scheduled task instances: %w", err)
	}
	defer rows.Close()
	var out []Candidate
	for rows.Next() {
		var c Candidate
		if err := rows.Scan(&c.DagID, &c.RunID, &c.TaskID, &c.MapIndex, &c.TryNumber, &c.Pool, &c.PoolSlots,
			&c.Queue, &c.PriorityWeight, &c.DagHash, &c.MaxActiveTasks); err != nil {
			return nil, fmt.Errorf("select scheduled task instances: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func keyArrays(ks []TIKey) (dags, runs, tasks []string, idx []int32) {
	n := len(ks)
	dags, runs, tasks, idx = make([]string, n), make([]string, n), make([]string, n), make([]int32, n)
	for i, k := range ks {
		dags[i], runs[i], tasks[i], idx[i] = k.DagID, k.RunID, k.TaskID, int32(k.MapIndex)
	}
	return dags, runs, tasks, idx
}

// TryKey names one try of a task instance.
type TryKey struct {
	TIKey
	TryNumber int `json:"try_number"`
}

// MarkQueued moves scheduled tries to queued for jobID, guarded by state
// and try number, and returns those that moved along with their queued time.
func MarkQueued(ctx context.Context, q DBTX, jobID int64, tries []TryKey) ([]TryKey, time.Time, error) {
	if len(tries) == 0 {
		return nil, time.Time{}, nil
	}
	keys := make([]TIKey, len(tries))
	nums := make([]int32, len(tries))
	for i, t := range tries {
		keys[i], nums[i] = t.TIKey, int32(t.TryNumber)
	}
	dags, runs, tasks, idx := keyArrays(keys)
	var now time.Time
	if err := q.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return nil, now, fmt.Errorf("mark queued: %w", err)
	}
	rows, err := q.Query(ctx, `UPDATE task_instance ti SET state = 'queued', queued_dttm = $1, queued_by_job_id = $2,
			hostname = '', updated_at = now()
		FROM unnest($3::text[], $4::text[], $5::text[], $6::int[], $7::int[]) AS k(dag_id, run_id, task_id, map_index, try)
		WHERE ti.dag_id = k.dag_id AND ti.run_id = k.run_id AND ti.task_id = k.task_id AND ti.map_index = k.map_index
			AND ti.try_number = k.try AND ti.state = 'scheduled'
		RETURNING ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number`, now, jobID, dags, runs, tasks, idx, nums)
	if err != nil {
		return nil, now, fmt.Errorf("mark queued: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TryKey, error) {
		var t TryKey
		err := r.Scan(&t.DagID, &t.RunID, &t.TaskID, &t.MapIndex, &t.TryNumber)
		return t, err
	})
	if err != nil {
		return nil, now, fmt.Errorf("mark queued: %w", err)
	}
	return out, now, nil
}

// RequeueUnpublished puts queued tries whose publish failed back to
// scheduled, so that a later critical section queues them again.
func RequeueUnpublished(ctx context.Context, q DBTX, tries []TryKey) error {
	if len(tries) == 0 {
		return nil
	}
	keys := make([]TIKey, len(tries))
	nums := make([]int32, len(tries))
	for i, t := range tries {
		keys[i], nums[i] = t.TIKey, int32(t.TryNumber)
	}
	dags, runs, tasks, idx := keyArrays(keys)
	_, err := q.Exec(ctx, `UPDATE task_instance ti SET state = 'scheduled', queued_by_job_id = NULL, updated_at = now()
		FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[]) AS k(dag_id, run_id, task_id, map_index, try)
		WHERE ti.dag_id = k.dag_id AND ti.run_id = k.run_id AND ti.task_id = k.task_id AND ti.map_index = k.map_index
			AND ti.try_number = k.try AND ti.state = 'queued'`, dags, runs, tasks, idx, nums)
	if err != nil {
		return fmt.Errorf("requeue unpublished tries: %w", err)
	}
	return nil
}

// Claim is the worker's guarded queued -> running transition for one try.
// ok is false when the try is not queued any more (a stale or duplicate
// message): the caller acks the message and does nothing. The same
// statement says where the try's stored log ends (a rescheduled sensor
// claims its try again and appends to its log).
func Claim(ctx context.Context, q DBTX, t TryKey, hostname string, pid int) (ti *TaskInstance, log LogResume, ok bool, err error) {
	row := q.QueryRow(ctx, `UPDATE task_instance SET state = 'running', hostname = $6, pid = $7,
			start_date = now(), end_date = NULL, duration = NULL, last_heartbeat_at = now(), updated_at = now(),
			sensor_started_at = coalesce(sensor_started_at, now())
		WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4 AND try_number = $5 AND state = 'queued'
		RETURNING `+tiColumns+`, `+logResumeColumns, t.DagID, t.RunID, t.TaskID, t.MapIndex, t.TryNumber, hostname, pid)
	var x TaskInstance
	err = row.Scan(tiTargets(&x, &log.End, &log.NextSeq, &log.HeadSize, &log.HasTail)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, log, false, nil
	}
	if err != nil {
		return nil, log, false, fmt.Errorf("claim %s try %d: %w", t.TIKey, t.TryNumber, err)
	}
	return &x, log, true, nil
}

// Finish writes the outcome of a running try: success, failed, skipped or
// up_for_retry (with nextRetryAt). It is guarded by the try number and the
// running state, so a try that was meanwhile declared a zombie or cleared is
// not overwritten; ok says whether it applied. The same statement stores
// the rest of the try's log (stored whether the outcome applies or not).
func Finish(ctx context.Context, q DBTX, t TryKey, state string, nextRetryAt *time.Time, logs ...LogChunk) (ok bool, err error) {
	return finish(ctx, q, t, state, nextRetryAt, false, logs)
}

// HandBack ends a try that a worker's shutdown interrupted: the task
// instance goes to up_for_retry due now, and the interrupted try does not
// count against its retries (max_tries + 1), so that nothing is lost.
func HandBack(ctx context.Context, q DBTX, t TryKey, logs ...LogChunk) (ok bool, err error) {
	now := time.Now()
	return finish(ctx, q, t, "up_for_retry", &now, true, logs)
}

func finish(ctx context.Context, q DBTX, t TryKey, state string, nextRetryAt *time.Time, extraTry bool, logs []LogChunk) (ok bool, err error) {
	with := "WITH "
	args := []any{t.DagID, t.RunID, t.TaskID, t.MapIndex, t.TryNumber, state, nextRetryAt, extraTry}
	if len(logs) > 0 {
		with += logInsertCTE(len(args)+1) + ", "
		args = append(args, logArgs(logs)...)
	}
	// The try's history row comes from the same statement: it exists
	// exactly when the result applied. As in Airflow's record_ti, a try
	// that left its task instance unfinished (up_for_retry, handed back,
	// up_for_reschedule) is recorded as failed; a later outcome of the same
	// try number (a rescheduled sensor) replaces it.
	tag, err := q.Exec(ctx, with+`u AS (UPDATE task_instance SET state = $6, end_date = now(),
			duration = extract(epoch FROM now() - start_date), next_retry_at = $7, updated_at = now(),
			max_tries = max_tries + CASE WHEN $8 THEN 1 ELSE 0 END
		WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4 AND try_number = $5 AND state = 'running'
		RETURNING dag_id, run_id, task_id, map_index, try_number, state, hostname, pid, queued_dttm, start_date, end_date, duration)
		INSERT INTO task_instance_history (dag_id, run_id, task_id, map_index, try_number, state, hostname, pid,
			queued_dttm, start_date, end_date, duration)
		SELECT dag_id, run_id, task_id, map_index, try_number,
			CASE WHEN state IN ('success', 'failed', 'skipped', 'upstream_failed', 'removed') THEN state ELSE 'failed' END,
			hostname, pid, queued_dttm, start_date, end_date, duration FROM u
		ON CONFLICT (dag_id, run_id, task_id, map_index, try_number) DO UPDATE SET state = EXCLUDED.state,
			hostname = EXCLUDED.hostname, pid = EXCLUDED.pid, queued_dttm = EXCLUDED.queued_dttm,
			start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date, duration = EXCLUDED.duration`,
		args...)
	if err != nil {
		return false, fmt.Errorf("finish %s try %d as %s: %w", t.TIKey, t.TryNumber, state, err)
	}
	return tag.RowsAffected() == 1, nil
}

// HeartbeatTIs refreshes last_heartbeat_at of the tries a worker runs and
// returns those that are no longer running that try (cleared, failed as a
// zombie, ...): the worker stops them. The same statement stores the log
// chunks the tries wrote since the last heartbeat.
func HeartbeatTIs(ctx context.Context, q DBTX, hostname string, tries []TryKey, logs ...LogChunk) ([]TryKey, error) {
	if len(tries) == 0 {
		return nil, nil
	}
	keys := make([]TIKey, len(tries))
	nums := make([]int32, len(tries))
	for i, t := range tries {
		keys[i], nums[i] = t.TIKey, int32(t.TryNumber)
	}
	dags, runs, tasks, idx := keyArrays(keys)
	args := []any{dags, runs, tasks, idx, nums, hostname}
	with := ""
	if len(logs) > 0 {
		with = "WITH " + logInsertCTE(len(args)+1) + " "
		args = append(args, logArgs(logs)...)
	}
	rows, err := q.Query(ctx, with+`UPDATE task_instance ti SET last_heartbeat_at = now()
		FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[]) AS k(dag_id, run_id, task_id, map_index, try)
		WHERE ti.dag_id = k.dag_id AND ti.run_id = k.run_id AND ti.task_id = k.task_id AND ti.map_index = k.map_index
			AND ti.try_number = k.try AND ti.state = 'running' AND ti.hostname = $6
		RETURNING ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number`, args...)
	if err != nil {
		return nil, fmt.Errorf("heartbeat task instances: %w", err)
	}
	alive, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TryKey, error) {
		var t TryKey
		err := r.Scan(&t.DagID, &t.RunID, &t.TaskID, &t.MapIndex, &t.TryNumber)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("heartbeat task instances: %w", err)
	}
	seen := make(map[TryKey]bool, len(alive))
	for _, a := range alive {
		seen[a] = true
	}
	var gone []TryKey
	for _, t := range tries {
		if !seen[t] {
			gone = append(gone, t)
		}
	}
	return gone, nil
}

// ResetStuckQueued puts back to scheduled the tries that sat in queued
// longer than timeout, or that were queued by a scheduler job that is no
// longer alive; the next critical section publishes them again and the
// guarded claim makes any duplicate message harmless. It returns the count.
func ResetStuckQueued(ctx context.Context, q DBTX, timeout, jobThreshold time.Duration) (int64, error) {
	tag, err := q.Exec(ctx, `UPDATE task_instance ti SET state = 'scheduled', queued_by_job_id = NULL, updated_at = now()
		WHERE ti.state = 'queued' AND (ti.queued_dttm < now() - $1::interval
			OR ti.queued_by_job_id IN (SELECT id FROM job WHERE job_type = 'SchedulerJob'
				AND (state <> 'running' OR latest_heartbeat < now() - $2::interval)
				AND latest_heartbeat > now() - interval '1 day'))`,
		timeout, jobThreshold)
	if err != nil {
		return 0, fmt.Errorf("reset stuck queued task instances: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Zombie is a running try whose worker stopped heartbeating.
type Zombie struct {
	TryKey
	MaxTries    int
	LogicalDate time.Time
	DagHash     string
	Hostname    string
}

// LockZombies locks running tries whose heartbeat is older than threshold.
func LockZombies(ctx context.Context, tx pgx.Tx, threshold time.Duration, limit int) ([]Zombie, error) {
	rows, err := tx.Query(ctx, `SELECT ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number, ti.max_tries,
			dr.logical_date, dr.dag_hash, ti.hostname
		FROM task_instance ti JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id
		WHERE ti.state = 'running' AND ti.last_heartbeat_at < now() - $1::interval
		LIMIT $2 FOR UPDATE OF ti SKIP LOCKED`, threshold, limit)
	if err != nil {
		return nil, fmt.Errorf("find zombies: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Zombie, error) {
		var z Zombie
		err := r.Scan(&z.DagID, &z.RunID, &z.TaskID, &z.MapIndex, &z.TryNumber, &z.MaxTries, &z.LogicalDate, &z.DagHash, &z.Hostname)
		return z, err
	})
}

// SetTINote sets (nil: clears) a task instance's note.
func SetTINote(ctx context.Context, q DBTX, k TIKey, note *string) error {
	tag, err := q.Exec(ctx, `UPDATE task_instance SET note = $5 WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4`,
		k.DagID, k.RunID, k.TaskID, k.MapIndex, note)
	if err != nil {
		return fmt.Errorf("set note of %s: %w", k, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("task instance %s: %w", k, ErrNotFound)
	}
	return nil
}

// TryHistory is one finished try of a task instance as it ended.
type TryHistory struct {
	TryNumber  int
	State      string
	Hostname   string
	PID        *int
	QueuedDttm *time.Time
	StartDate  *time.Time
	EndDate    *time.Time
	Duration   *float64
}

// TriesOf returns the finished tries of a task instance that are recorded,
// by try number.
func TriesOf(ctx context.Context, q DBTX, k TIKey) (map[int]TryHistory, error) {
	rows, err := q.Query(ctx, `SELECT try_number, coalesce(state, ''), hostname, pid, queued_dttm, start_date, end_date, duration
		FROM task_instance_history WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4`,
		k.DagID, k.RunID, k.TaskID, k.MapIndex)
	if err != nil {
		return nil, fmt.Errorf("tries of %s: %w", k, err)
	}
	out := map[int]TryHistory{}
	var h TryHistory
	_, err = pgx.ForEachRow(rows, []any{&h.TryNumber, &h.State, &h.Hostname, &h.PID, &h.QueuedDttm, &h.StartDate, &h.EndDate, &h.Duration},
		func() error { out[h.TryNumber] = h; return nil })
	if err != nil {
		return nil, fmt.Errorf("tries of %s: %w", k, err)
	}
	return out, nil
}

// RunTry is a recorded try of one of a run's task instances.
type RunTry struct {
	TaskID   string
	MapIndex int
	TryHistory
}

// TriesOfRun returns every recorded try of a run's task instances, in one
// query.
func TriesOfRun(ctx context.Context, q DBTX, dagID, runID string) ([]RunTry, error) {
	rows, err := q.Query(ctx, `SELECT task_id, map_index, try_number, coalesce(state, ''), hostname, pid, queued_dttm,
			start_date, end_date, duration
		FROM task_instance_history WHERE dag_id = $1 AND run_id = $2 ORDER BY task_id, map_index, try_number`, dagID, runID)
	if err != nil {
		return nil, fmt.Errorf("tries of run %s of %s: %w", runID, dagID, err)
	}
	var out []RunTry
	var t RunTry
	_, err = pgx.ForEachRow(rows, []any{&t.TaskID, &t.MapIndex, &t.TryNumber, &t.State, &t.Hostname, &t.PID, &t.QueuedDttm,
		&t.StartDate, &t.EndDate, &t.Duration}, func() error { out = append(out, t); return nil })
	if err != nil {
		return nil, fmt.Errorf("tries of run %s of %s: %w", runID, dagID, err)
	}
	return out, nil
}
