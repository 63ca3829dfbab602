package metadb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listings for the REST API: one query for the page and one for its total,
// whatever the page size (no query per row).

// DagListRow is a DAG as the API lists it.
type DagListRow struct {
	DagRow
	HasImportErrors bool
}

// DagFilter selects DAGs; zero fields match everything.
type DagFilter struct {
	DagIDs         []string // exact ids
	DagIDPattern   string   // Airflow's *_pattern search (see likeTerms)
	Tags           []string
	TagsMatchAll   bool
	Owners         []string
	Paused         *bool
	IncludeStale   bool
	HasImportError *bool
	LastRunStates  []string // the state of the DAG's latest run (by run_after) is one of these
}

// lastRun is the DAG's latest run by Airflow's run_after, for the DAG
// list's last_dag_run_state filter and its last_run_* orders.
const lastRun = `(SELECT %s FROM dag_run r WHERE r.dag_id = d.dag_id ORDER BY ` + runAfter + ` DESC, r.id DESC LIMIT 1)`

var dagOrder = map[string]string{
	"dag_id": "d.dag_id", "dag_display_name": "d.dag_id", "next_dagrun": "d.next_dagrun",
	"last_parsed_time": "d.last_parsed_time", "is_paused": "d.is_paused", "fileloc": "d.fileloc",
	"owners": "d.owners", "description": "d.description",
	"last_run_state": fmt.Sprintf(lastRun, "r.state"), "last_run_start_date": fmt.Sprintf(lastRun, "r.start_date"),
}

func (f DagFilter) where() (string, []any) {
	return `(cardinality($1::text[]) = 0 OR d.dag_id = ANY($1))
		AND (cardinality($2::text[]) = 0 OR d.dag_id ILIKE ANY($2))
		AND (cardinality($3::text[]) = 0 OR (CASE WHEN $4 THEN d.tags @> $3 ELSE d.tags && $3 END))
		AND (cardinality($5::text[]) = 0 OR string_to_array(d.owners, ', ') && $5)
		AND ($6::boolean IS NULL OR d.is_paused = $6)
		AND ($7 OR d.is_active)
		AND ($8::boolean IS NULL OR EXISTS (SELECT 1 FROM import_error ie WHERE ie.filename = d.fileloc) = $8)
		AND (cardinality($9::text[]) = 0 OR ` + fmt.Sprintf(lastRun, "r.state") + ` = ANY($9))`,
		[]any{nonNil(f.DagIDs), likeTerms(f.DagIDPattern), nonNil(f.Tags), f.TagsMatchAll, nonNil(f.Owners), f.Paused, f.IncludeStale,
			f.HasImportError, nonNil(f.LastRunStates)}
}

// ListDAGsPage returns a page of DAGs and the number of matching DAGs.
func ListDAGsPage(ctx context.Context, q DBTX, f DagFilter, page Page) ([]*DagListRow, int, error) {
	order, err := page.orderBy(dagOrder, "d.dag_id")
	if err != nil {
		return nil, 0, err
	}
	where, args := f.where()
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM dag d WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count dags: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT `+dagColumns+`,
			EXISTS (SELECT 1 FROM import_error ie WHERE ie.filename = d.fileloc)
		FROM dag d WHERE `+where+` ORDER BY `+order+fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list dags: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*DagListRow, error) {
		var d DagListRow
		err := r.Scan(&d.DagID, &d.IsPaused, &d.IsActive, &d.Fileloc, &d.Description, &d.Owners, &d.Tags,
			&d.ScheduleInterval, &d.MaxActiveRuns, &d.MaxActiveTasks, &d.HasTaskConcurrencyLimits, &d.DagHash, &d.LastParsedTime,
			&d.NextDagrun, &d.NextDagrunDataIntervalStart, &d.NextDagrunDataIntervalEnd, &d.NextDagrunCreateAfter,
			&d.HasImportErrors)
		return &d, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list dags: %w", err)
	}
	return out, total, nil
}

// DagVersion is one stored version of a DAG, numbered per DAG from 1 in the
// order the versions were first stored.
type DagVersion struct {
	DagID     string
	Hash      string
	Number    int
	CreatedAt time.Time
}

const versionsCTE = `WITH v AS (SELECT dag_id, dag_hash, created_at,
	row_number() OVER (PARTITION BY dag_id ORDER BY created_at, dag_hash)::int AS version_number
	FROM serialized_dag WHERE dag_id = ANY($1))`

// DagVersionsOf returns every version of the DAGs, by hash.
func DagVersionsOf(ctx context.Context, q DBTX, dagIDs []string) (map[string]DagVersion, error) {
	rows, err := q.Query(ctx, versionsCTE+` SELECT dag_id, dag_hash, version_number, created_at FROM v`, dagIDs)
	if err != nil {
		return nil, fmt.Errorf("dag versions: %w", err)
	}
	out := map[string]DagVersion{}
	var v DagVersion
	_, err = pgx.ForEachRow(rows, []any{&v.DagID, &v.Hash, &v.Number, &v.CreatedAt}, func() error {
		out[v.Hash] = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dag versions: %w", err)
	}
	return out, nil
}

// RunFilter selects DAG runs; zero fields match everything.
type RunFilter struct {
	DagIDs                             []string // nil: every DAG
	States, RunTypes                   []string
	RunIDPattern, DagIDPattern         string
	LogicalGTE, LogicalLTE             *time.Time
	StartGTE, StartLTE, EndGTE, EndLTE *time.Time
	RunAfterGTE, RunAfterLTE           *time.Time
	UpdatedGTE, UpdatedLTE             *time.Time
	DurationGTE, DurationLTE           *float64 // seconds; a run not ended has no duration
	ConfContains                       string   // a substring of the conf's JSON text
	TriggeringUserPattern              string
	DagVersions                        []int // the runs' DAG version numbers
	Nothing                            bool  // a filter no run can meet (a bundle version or partition key)
}

// runAfter is Airflow 3's run_after: when a run was due to start (a
// scheduled run at its interval's end, a manual one when triggered).
const runAfter = `(CASE WHEN r.run_type = 'scheduled' THEN coalesce(r.data_interval_end, r.logical_date) ELSE coalesce(r.queued_at, r.logical_date) END)`

var runOrder = map[string]string{
	"id": "r.id", "dag_id": "r.dag_id", "run_id": "r.run_id", "dag_run_id": "r.run_id", "state": "r.state",
	"logical_date": "r.logical_date", "execution_date": "r.logical_date", "run_after": runAfter,
	"start_date": "r.start_date", "end_date": "r.end_date", "updated_at": "coalesce(r.end_date, r.start_date, r.queued_at)",
	"data_interval_start": "r.data_interval_start", "data_interval_end": "r.data_interval_end",
	"run_type": "r.run_type", "queued_at": "r.queued_at", "conf": "r.conf::text",
	"duration": "(r.end_date - r.start_date)",
}

// runUpdatedAt is when a run last changed state, as far as gust records it.
const runUpdatedAt = `coalesce(r.end_date, r.start_date, r.queued_at)`

// runDuration is a run's duration in seconds (NULL until it ends).
const runDuration = `extract(epoch FROM (r.end_date - r.start_date))::float8`

// dagVersionIn matches rows of r whose serialized DAG has one of the version
// numbers of ?: versions are numbered per DAG in the order first stored.
const dagVersionIn = `r.dag_hash IN (SELECT v.dag_hash FROM (SELECT s.dag_hash,
	row_number() OVER (ORDER BY s.created_at, s.dag_hash)::int AS n FROM serialized_dag s WHERE s.dag_id = r.dag_id) v
	WHERE v.n = ANY(?))`

func (f RunFilter) where() *where {
	w := &where{}
	if f.DagIDs != nil {
		w.add(`r.dag_id = ANY(?)`, f.DagIDs)
	}
	if len(f.States) > 0 {
		w.add(`r.state = ANY(?)`, f.States)
	}
	if len(f.RunTypes) > 0 {
		w.add(`r.run_type = ANY(?)`, f.RunTypes)
	}
	if f.RunIDPattern != "" {
		w.add(`r.run_id ILIKE ANY(?)`, likeTerms(f.RunIDPattern))
	}
	if f.DagIDPattern != "" {
		w.add(`r.dag_id ILIKE ANY(?)`, likeTerms(f.DagIDPattern))
	}
	if f.TriggeringUserPattern != "" {
		w.add(`r.triggering_user_name ILIKE ANY(?)`, likeTerms(f.TriggeringUserPattern))
	}
	timeRange(w, `r.logical_date`, f.LogicalGTE, f.LogicalLTE)
	timeRange(w, `r.start_date`, f.StartGTE, f.StartLTE)
	timeRange(w, `r.end_date`, f.EndGTE, f.EndLTE)
	timeRange(w, runAfter, f.RunAfterGTE, f.RunAfterLTE)
	timeRange(w, runUpdatedAt, f.UpdatedGTE, f.UpdatedLTE)
	if f.DurationGTE != nil {
		w.add(runDuration+` >= ?`, *f.DurationGTE)
	}
	if f.DurationLTE != nil {
		w.add(runDuration+` <= ?`, *f.DurationLTE)
	}
	if f.ConfContains != "" {
		w.add(`strpos(r.conf::text, ?) > 0`, f.ConfContains)
	}
	if len(f.DagVersions) > 0 {
		w.add(dagVersionIn, f.DagVersions)
	}
	if f.Nothing {
		w.add(`FALSE`)
	}
	return w
}

// timeRange adds col >= gte and col <= lte for the bounds given.
func timeRange(w *where, col string, gte, lte *time.Time) {
	if gte != nil {
		w.add(col+` >= ?`, *gte)
	}
	if lte != nil {
		w.add(col+` <= ?`, *lte)
	}
}

// ListRunsPage returns a page of runs and the number of matching runs.
func ListRunsPage(ctx context.Context, q DBTX, f RunFilter, page Page) ([]*DagRun, int, error) {
	order, err := page.orderBy(runOrder, "r.id")
	if err != nil {
		return nil, 0, err
	}
	w := f.where()
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM dag_run r WHERE `+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count dag runs: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT `+dagRunColumns+` FROM dag_run r WHERE `+w.sql()+
		` ORDER BY `+order+fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), w.args...)
	out, err := collectDagRuns(rows, err)
	if err != nil {
		return nil, 0, fmt.Errorf("list dag runs: %w", err)
	}
	return out, total, nil
}

// TIFilter selects task instances; zero fields match everything.
type TIFilter struct {
	DagID, RunID             string // "" (or "~" at the API): every DAG / run
	DagIDsIn, RunIDsIn       []string
	TaskIDs                  []string
	TaskIDPattern, RunIDPatt string
	DagIDPattern             string
	States                   []string // "none" matches NULL
	Pools, Queues            []string
	PoolPattern, QueuePatt   string
	MapIndex                 *int
	Mapped                   bool // only mapped instances (map_index >= 0)
	TryNumbers               []int
	Operators                []string // operator names as stored (bash, empty, ...)
	StartGTE, StartLTE       *time.Time
	EndGTE, EndLTE           *time.Time
	LogicalGTE, LogicalLTE   *time.Time
	RunAfterGTE, RunAfterLTE *time.Time
	UpdatedGTE, UpdatedLTE   *time.Time
	DurationGTE, DurationLTE *float64
	DagVersions              []int // the runs' DAG version numbers
	// OperatorPattern matches the operator's name as stored or as shown
	// (OperatorShown maps one to the other).
	OperatorPattern string
	OperatorShown   map[string]string
	Nothing         bool // a filter no row can meet (an executor gust does not have)
}

var tiOrder = map[string]string{
	"id": "ti.task_id", "task_id": "ti.task_id", "dag_id": "ti.dag_id", "run_id": "ti.run_id", "dag_run_id": "ti.run_id",
	"map_index": "ti.map_index", "state": "ti.state", "start_date": "ti.start_date", "end_date": "ti.end_date",
	"duration": "ti.duration", "try_number": "ti.try_number", "pool": "ti.pool", "queue": "ti.queue",
	"priority_weight": "ti.priority_weight", "hostname": "ti.hostname", "operator": "ti.operator",
	"rendered_map_index": "ti.rendered_map_index",
	"logical_date":       "r.logical_date", "run_after": runAfter, "queued_when": "ti.queued_dttm", "updated_at": "ti.updated_at",
}

// tiColumnsQualified is tiColumns for a query that joins dag_run.
const tiColumnsQualified = `ti.dag_id, ti.run_id, ti.task_id, ti.map_index, coalesce(ti.state, ''), ti.try_number, ti.max_tries,
	ti.operator, ti.pool, ti.pool_slots, ti.queue, ti.priority_weight, ti.hostname, ti.pid, ti.queued_dttm, ti.queued_by_job_id,
	ti.start_date, ti.end_date, ti.duration, ti.next_retry_at, ti.last_heartbeat_at, ti.sensor_started_at, ti.note, ti.rendered_map_index`

// TIRow is a task instance with what the API shows of its run.
type TIRow struct {
	TaskInstance
	LogicalDate time.Time
	RunType     string
	QueuedAt    *time.Time
	IntervalEnd *time.Time
	DagHash     string
	UpdatedAt   time.Time
}

// RunAfter is Airflow 3's run_after of the TI's run.
func (t *TIRow) RunAfter() time.Time {
	switch {
	case t.RunType == "scheduled" && t.IntervalEnd != nil:
		return *t.IntervalEnd
	case t.RunType != "scheduled" && t.QueuedAt != nil:
		return *t.QueuedAt
	}
	return t.LogicalDate
}

// ListTIsPage returns a page of task instances and the number that match.
func ListTIsPage(ctx context.Context, q DBTX, f TIFilter, page Page) ([]*TIRow, int, error) {
	order, err := page.orderBy(tiOrder, "ti.dag_id, ti.run_id, ti.task_id, ti.map_index")
	if err != nil {
		return nil, 0, err
	}
	w := &where{}
	if f.DagID != "" {
		w.add(`ti.dag_id = ?`, f.DagID)
	}
	if f.RunID != "" {
		w.add(`ti.run_id = ?`, f.RunID)
	}
	// In a fixed order: the same filters make the same statement text.
	for _, in := range []struct {
		col  string
		vals []string
	}{{`ti.dag_id`, f.DagIDsIn}, {`ti.run_id`, f.RunIDsIn}, {`ti.task_id`, f.TaskIDs}, {`ti.pool`, f.Pools},
		{`ti.queue`, f.Queues}, {`ti.operator`, f.Operators}, {`coalesce(ti.state, 'none')`, f.States}} {
		if len(in.vals) > 0 {
			w.add(in.col+` = ANY(?)`, in.vals)
		}
	}
	for _, like := range []struct{ col, pattern string }{{`ti.task_id`, f.TaskIDPattern}, {`ti.run_id`, f.RunIDPatt},
		{`ti.dag_id`, f.DagIDPattern}, {`ti.pool`, f.PoolPattern}, {`ti.queue`, f.QueuePatt}} {
		if like.pattern != "" {
			w.add(like.col+` ILIKE ANY(?)`, likeTerms(like.pattern))
		}
	}
	if f.MapIndex != nil {
		w.add(`ti.map_index = ?`, *f.MapIndex)
	}
	if f.Mapped {
		w.add(`ti.map_index >= ?`, 0)
	}
	if len(f.TryNumbers) > 0 {
		w.add(`ti.try_number = ANY(?)`, f.TryNumbers)
	}
	if f.OperatorPattern != "" {
		stored, shown := make([]string, 0, len(f.OperatorShown)), make([]string, 0, len(f.OperatorShown))
		for k, v := range f.OperatorShown {
			stored, shown = append(stored, k), append(shown, v)
		}
		w.add(`ti.operator IN (SELECT m.stored FROM unnest(?::text[], ?::text[]) AS m(stored, shown)
			WHERE m.stored ILIKE ANY(?) OR m.shown ILIKE ANY(?))`, stored, shown, likeTerms(f.OperatorPattern), likeTerms(f.OperatorPattern))
	}
	if f.Nothing {
		w.add(`FALSE`)
	}
	timeRange(w, `ti.start_date`, f.StartGTE, f.StartLTE)
	timeRange(w, `ti.end_date`, f.EndGTE, f.EndLTE)
	timeRange(w, `ti.updated_at`, f.UpdatedGTE, f.UpdatedLTE)
	if f.DurationGTE != nil {
		w.add(`ti.duration >= ?`, *f.DurationGTE)
	}
	if f.DurationLTE != nil {
		w.add(`ti.duration <= ?`, *f.DurationLTE)
	}
	// The run is joined to filter or sort only when asked (logical date,
	// run_after, DAG version); otherwise the page is cut from task_instance
	// alone, in its primary key's order, and only its rows meet their runs.
	n := len(w.conds)
	timeRange(w, `r.logical_date`, f.LogicalGTE, f.LogicalLTE)
	timeRange(w, runAfter, f.RunAfterGTE, f.RunAfterLTE)
	if len(f.DagVersions) > 0 {
		w.add(dagVersionIn, f.DagVersions)
	}
	from := ` FROM task_instance ti WHERE `
	if len(w.conds) > n || strings.Contains(order, "r.") || strings.Contains(order, runAfter) {
		from = ` FROM task_instance ti JOIN dag_run r ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id WHERE `
	}
	cond, args := w.sql(), w.args
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*)`+from+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count task instances: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT `+tiColumnsQualified+`, r.logical_date, r.run_type, r.queued_at, r.data_interval_end, r.dag_hash, ti.updated_at
		FROM (SELECT ti.*`+from+cond+` ORDER BY `+order+fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset)+`) ti
		JOIN dag_run r ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id ORDER BY `+order, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list task instances: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*TIRow, error) {
		var t TIRow
		err := r.Scan(tiTargets(&t.TaskInstance, &t.LogicalDate, &t.RunType, &t.QueuedAt, &t.IntervalEnd, &t.DagHash, &t.UpdatedAt)...)
		return &t, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list task instances: %w", err)
	}
	return out, total, nil
}

// ListTagsPage returns a page of the distinct DAG tags and their number.
func ListTagsPage(ctx context.Context, q DBTX, pattern string, page Page) ([]string, int, error) {
	order, err := page.orderBy(map[string]string{"name": "name"}, "name")
	if err != nil {
		return nil, 0, err
	}
	const from = ` FROM (SELECT DISTINCT unnest(tags) AS name FROM dag) t WHERE (cardinality($1::text[]) = 0 OR name ILIKE ANY($1))`
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*)`+from, likeTerms(pattern)).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count dag tags: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT name`+from+` ORDER BY `+order+fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), likeTerms(pattern))
	if err != nil {
		return nil, 0, fmt.Errorf("list dag tags: %w", err)
	}
	tags, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, 0, fmt.Errorf("list dag tags: %w", err)
	}
	return tags, total, nil
}

// RunStateCounts counts each DAG's runs by state (only DAGs and states
// that have runs appear).
func RunStateCounts(ctx context.Context, q DBTX, dagIDs []string) (map[string]map[string]int, error) {
	rows, err := q.Query(ctx, `SELECT dag_id, state, count(*) FROM dag_run
		WHERE ($1::text[] IS NULL OR dag_id = ANY($1)) GROUP BY dag_id, state`, dagIDs)
	if err != nil {
		return nil, fmt.Errorf("count dag runs by state: %w", err)
	}
	out := map[string]map[string]int{}
	var dag, state string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&dag, &state, &n}, func() error {
		if out[dag] == nil {
			out[dag] = map[string]int{}
		}
		out[dag][state] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count dag runs by state: %w", err)
	}
	return out, nil
}

// ActiveDagIDs returns the ids of the DAGs that exist (any of ids, or all
// when ids is nil), sorted.
func ActiveDagIDs(ctx context.Context, q DBTX, ids []string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT dag_id FROM dag WHERE ($1::text[] IS NULL OR dag_id = ANY($1)) ORDER BY dag_id`, ids)
	if err != nil {
		return nil, fmt.Errorf("list dag ids: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list dag ids: %w", err)
	}
	return out, nil
}

// XComRow is an XCom with what the API shows of its run.
type XComRow struct {
	DagID, RunID, TaskID, Key string
	MapIndex                  int
	Value                     json.RawMessage
	Timestamp                 time.Time
	LogicalDate               time.Time
	RunType                   string
	QueuedAt, IntervalEnd     *time.Time
}

// XComFilter selects XComs; zero fields match everything.
type XComFilter struct {
	DagID, RunID, TaskID, Key string
	MapIndex                  *int
	KeyPattern, RunIDPattern  string
	TaskIDPattern, DagPattern string
	LogicalGTE, LogicalLTE    *time.Time
}

// ListXComsPage returns a page of XComs and how many match.
func ListXComsPage(ctx context.Context, q DBTX, f XComFilter, page Page) ([]*XComRow, int, error) {
	order, err := page.orderBy(map[string]string{"key": "x.key", "task_id": "x.task_id", "run_id": "x.run_id",
		"dag_id": "x.dag_id", "map_index": "x.map_index", "timestamp": "x.timestamp", "logical_date": "r.logical_date"},
		"x.dag_id, x.run_id, x.task_id, x.map_index, x.key")
	if err != nil {
		return nil, 0, err
	}
	const from = ` FROM xcom x JOIN dag_run r ON r.dag_id = x.dag_id AND r.run_id = x.run_id
		WHERE ($1 = '' OR x.dag_id = $1) AND ($2 = '' OR x.run_id = $2) AND ($3 = '' OR x.task_id = $3)
		AND ($4 = '' OR x.key = $4) AND ($5::int IS NULL OR x.map_index = $5) AND (cardinality($6::text[]) = 0 OR x.key ILIKE ANY($6))
		AND (cardinality($7::text[]) = 0 OR x.run_id ILIKE ANY($7)) AND (cardinality($8::text[]) = 0 OR x.task_id ILIKE ANY($8)) AND (cardinality($9::text[]) = 0 OR x.dag_id ILIKE ANY($9))
		AND ($10::timestamptz IS NULL OR r.logical_date >= $10) AND ($11::timestamptz IS NULL OR r.logical_date <= $11)`
	args := []any{f.DagID, f.RunID, f.TaskID, f.Key, f.MapIndex, likeTerms(f.KeyPattern), likeTerms(f.RunIDPattern), likeTerms(f.TaskIDPattern), likeTerms(f.DagPattern),
		f.LogicalGTE, f.LogicalLTE}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*)`+from, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count xcoms: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT x.dag_id, x.run_id, x.task_id, x.key, x.map_index, x.value, x.timestamp,
		r.logical_date, r.run_type, r.queued_at, r.data_interval_end`+from+` ORDER BY `+order+
		fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list xcoms: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*XComRow, error) {
		var x XComRow
		err := r.Scan(&x.DagID, &x.RunID, &x.TaskID, &x.Key, &x.MapIndex, &x.Value, &x.Timestamp,
			&x.LogicalDate, &x.RunType, &x.QueuedAt, &x.IntervalEnd)
		return &x, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list xcoms: %w", err)
	}
	return out, total, nil
}

// InsertXCom adds a new XCom; an existing key is ErrDuplicateXCom.
func InsertXCom(ctx context.Context, q DBTX, k TIKey, key string, value json.RawMessage) error {
	if len(value) > MaxXComBytes {
		return fmt.Errorf("xcom %s of %s: %w", key, k, ErrXComTooLarge)
	}
	_, err := q.Exec(ctx, `INSERT INTO xcom (dag_id, run_id, task_id, map_index, key, value) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.DagID, k.RunID, k.TaskID, k.MapIndex, key, value)
	if IsUniqueViolation(err) {
		return fmt.Errorf("xcom %s of %s: %w", key, k, ErrDuplicateXCom)
	}
	if err != nil {
		return fmt.Errorf("add xcom %s of %s: %w", key, k, err)
	}
	return nil
}

// ErrDuplicateXCom is returned when an XCom key already exists.
var ErrDuplicateXCom = errors.New("xcom already exists")

// UpdateXCom replaces an existing XCom's value, or returns ErrNotFound.
func UpdateXCom(ctx context.Context, q DBTX, k TIKey, key string, value json.RawMessage) error {
	if len(value) > MaxXComBytes {
		return fmt.Errorf("xcom %s of %s: %w", key, k, ErrXComTooLarge)
	}
	tag, err := q.Exec(ctx, `UPDATE xcom SET value = $6, timestamp = now()
		WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4 AND key = $5`,
		k.DagID, k.RunID, k.TaskID, k.MapIndex, key, value)
	if err != nil {
		return fmt.Errorf("update xcom %s of %s: %w", key, k, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("xcom %s of %s: %w", key, k, ErrNotFound)
	}
	return nil
}

// DeleteXCom deletes one XCom, or returns ErrNotFound.
func DeleteXCom(ctx context.Context, q DBTX, k TIKey, key string) error {
	tag, err := q.Exec(ctx, `DELETE FROM xcom WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4 AND key = $5`,
		k.DagID, k.RunID, k.TaskID, k.MapIndex, key)
	if err != nil {
		return fmt.Errorf("delete xcom %s of %s: %w", key, k, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("xcom %s of %s: %w", key, k, ErrNotFound)
	}
	return nil
}

// Counts are the sizes a monitoring scrape reads.
type Counts struct {
	TIs, Runs                      map[string]int // unfinished TIs and active runs by state
	DAGs, PausedDAGs, ImportErrors int
}

// ActiveCounts counts the unfinished task instances and the active runs by
// state (both read through their partial indexes), the active DAGs and the
// import errors, in one statement.
func ActiveCounts(ctx context.Context, q DBTX) (Counts, error) {
	c := Counts{TIs: map[string]int{}, Runs: map[string]int{}}
	rows, err := q.Query(ctx, `SELECT 'ti', state, count(*) FROM task_instance
			WHERE state IN ('scheduled', 'queued', 'running', 'up_for_retry') GROUP BY state
		UNION ALL SELECT 'ti', state, count(*) FROM task_instance WHERE state = 'up_for_reschedule' GROUP BY state
		UNION ALL SELECT 'run', state, count(*) FROM dag_run WHERE state IN ('queued', 'running') GROUP BY state
		UNION ALL SELECT 'dag', is_paused::text, count(*) FROM dag WHERE is_active GROUP BY is_paused
		UNION ALL SELECT 'import_error', '', count(*) FROM import_error`)
	if err != nil {
		return c, fmt.Errorf("count active task instances and runs: %w", err)
	}
	var kind, state string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&kind, &state, &n}, func() error {
		switch kind {
		case "ti":
			c.TIs[state] = n
		case "run":
			c.Runs[state] = n
		case "dag":
			c.DAGs += n
			if state == "true" {
				c.PausedDAGs = n
			}
		default:
			c.ImportErrors = n
		}
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("count active task instances and runs: %w", err)
	}
	return c, nil
}
