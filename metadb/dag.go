package metadb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/common/schedule"
)

// ErrNotFound is returned when a named DAG, run or task does not exist.
var ErrNotFound = errors.New("not found")

// DagRow is one row of the dag table.
type DagRow struct {
	DagID            string   `json:"dag_id"`
	IsPaused         bool     `json:"is_paused"`
	IsActive         bool     `json:"is_active"`
	Fileloc          string   `json:"fileloc"`
	Description      string   `json:"description"`
	Owners           string   `json:"owners"`
	Tags             []string `json:"tags"`
	ScheduleInterval string   `json:"schedule_interval"` // gust's normalised schedule
	// TimetableSummary is the schedule as Airflow 3 shows the same
	// timetable: "None", "@once", a cron expression, "1 day, 0:00:00".
	TimetableSummary            string     `json:"timetable_summary"`
	MaxActiveRuns               int        `json:"max_active_runs"`
	MaxActiveTasks              int        `json:"max_active_tasks"`
	HasTaskConcurrencyLimits    bool       `json:"has_task_concurrency_limits"`
	DagHash                     string     `json:"dag_hash"`
	LastParsedTime              time.Time  `json:"last_parsed_time"`
	NextDagrun                  *time.Time `json:"next_dagrun"`
	NextDagrunDataIntervalStart *time.Time `json:"next_dagrun_data_interval_start"`
	NextDagrunDataIntervalEnd   *time.Time `json:"next_dagrun_data_interval_end"`
	NextDagrunCreateAfter       *time.Time `json:"next_dagrun_create_after"`
}

const dagColumns = `dag_id, is_paused, is_active, fileloc, coalesce(description, ''), coalesce(owners, ''), tags,
	coalesce(schedule_interval, ''), max_active_runs, max_active_tasks, has_task_concurrency_limits, dag_hash, last_parsed_time,
	next_dagrun, next_dagrun_data_interval_start, next_dagrun_data_interval_end, next_dagrun_create_after`

func scanDag(row pgx.Row) (*DagRow, error) {
	var d DagRow
	err := row.Scan(&d.DagID, &d.IsPaused, &d.IsActive, &d.Fileloc, &d.Description, &d.Owners, &d.Tags,
		&d.ScheduleInterval, &d.MaxActiveRuns, &d.MaxActiveTasks, &d.HasTaskConcurrencyLimits, &d.DagHash, &d.LastParsedTime,
		&d.NextDagrun, &d.NextDagrunDataIntervalStart, &d.NextDagrunDataIntervalEnd, &d.NextDagrunCreateAfter)
	if err != nil {
		return nil, err
	}
	d.TimetableSummary = schedule.Summary(d.ScheduleInterval)
	return &d, nil
}

// DagSync is what the DAG processor writes for one parsed DAG.
type DagSync struct {
	DagID            string
	Fileloc          string
	Description      string
	Owners           string
	Tags             []string
	ScheduleInterval string
	MaxActiveRuns    int
	MaxActiveTasks   int
	HasTaskLimits    bool // a task sets max_active_tis_per_dag
	DagHash          string
	Data             []byte // serialized DAG (JSON)
	Source           string // the DAG file's text
	Files            *DagFiles
	PausedAtCreation bool
}

// DagFiles are a Python DAG version's files besides its own text: where
// the file is in the DAG folder, and the modules it imported from there.
type DagFiles struct {
	Path    string            `json:"path"`
	Modules map[string]string `json:"modules,omitempty"`
}

// DagVersionFiles is what a worker materialises for a DAG version.
type DagVersionFiles struct {
	Source string
	Files  *DagFiles // nil: stored without them (before migration 009, or a YAML file)
}

// SyncDAG stores one serialized DAG version (once per hash) and upserts its
// dag row. Unchanged DAGs (same hash, still active, same file) cost one
// no-op statement and no write. It reports whether anything changed. A
// changed DAG gets next_dagrun_create_after = now() so that a scheduler
// recomputes its next run at once.
func SyncDAG(ctx context.Context, tx pgx.Tx, s DagSync) (bool, error) {
	if s.Tags == nil {
		s.Tags = []string{}
	}
	tag, err := tx.Exec(ctx, `INSERT INTO dag (dag_id, is_paused, is_active, fileloc, description, owners, tags,
			schedule_interval, max_active_runs, max_active_tasks, dag_hash, last_parsed_time, next_dagrun_create_after,
			has_task_concurrency_limits)
		VALUES ($1, $2, true, $3, $4, $5, $6, $7, $8, $9, $10, now(), now(), $11)
		ON CONFLICT (dag_id) DO UPDATE SET is_active = true, fileloc = EXCLUDED.fileloc,
			description = EXCLUDED.description, owners = EXCLUDED.owners, tags = EXCLUDED.tags,
			schedule_interval = EXCLUDED.schedule_interval, max_active_runs = EXCLUDED.max_active_runs,
			max_active_tasks = EXCLUDED.max_active_tasks, dag_hash = EXCLUDED.dag_hash,
			has_task_concurrency_limits = EXCLUDED.has_task_concurrency_limits,
			last_parsed_time = now(), next_dagrun_create_after = now()
		WHERE dag.dag_hash <> EXCLUDED.dag_hash OR NOT dag.is_active OR dag.fileloc <> EXCLUDED.fileloc`,
		s.DagID, s.PausedAtCreation, s.Fileloc, s.Description, s.Owners, s.Tags, s.ScheduleInterval,
		s.MaxActiveRuns, s.MaxActiveTasks, s.DagHash, s.HasTaskLimits)
	if err != nil {
		return false, fmt.Errorf("upsert dag %s: %w", s.DagID, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO serialized_dag (dag_hash, dag_id, fileloc, data, source, files) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (dag_hash) DO NOTHING`, s.DagHash, s.DagID, s.Fileloc, s.Data, s.Source, s.Files); err != nil {
		return false, fmt.Errorf("store serialized dag %s: %w", s.DagID, err)
	}
	return true, nil
}

// TouchDAGs records that the DAGs of a file were parsed again unchanged. It
// returns the ids that have no dag row (deleted meanwhile), which the caller
// stores again.
func TouchDAGs(ctx context.Context, q DBTX, ids []string) ([]string, error) {
	rows, err := q.Query(ctx, `UPDATE dag SET last_parsed_time = now() WHERE dag_id = ANY($1) RETURNING dag_id`, ids)
	if err != nil {
		return nil, fmt.Errorf("touch dags: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("touch dags: %w", err)
	}
	have := make(map[string]bool, len(found))
	for _, id := range found {
		have[id] = true
	}
	var missing []string
	for _, id := range ids {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// DeactivateStale marks inactive the active DAGs that no file defines any
// more: those whose file is not in files (gone), and those of a file in
// parsed (parsed without error this time) that it no longer defines (keep
// lists every DAG id that parsed files define). DAGs of files that failed
// to parse stay as they were, as Airflow keeps them.
func DeactivateStale(ctx context.Context, q DBTX, files, parsed, keep []string) (int64, error) {
	tag, err := q.Exec(ctx, `UPDATE dag SET is_active = false, next_dagrun_create_after = NULL
		WHERE is_active AND (fileloc <> ALL($1) OR (fileloc = ANY($2) AND dag_id <> ALL($3)))`, files, parsed, keep)
	if err != nil {
		return 0, fmt.Errorf("deactivate stale dags: %w", err)
	}
	return tag.RowsAffected(), nil
}

// GetDAG returns one DAG row.
func GetDAG(ctx context.Context, q DBTX, dagID string) (*DagRow, error) {
	d, err := scanDag(q.QueryRow(ctx, `SELECT `+dagColumns+` FROM dag WHERE dag_id = $1`, dagID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("dag %q: %w", dagID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get dag %s: %w", dagID, err)
	}
	return d, nil
}

// ListDAGs returns every DAG, active ones unless all is set, by dag_id.
func ListDAGs(ctx context.Context, q DBTX, all bool) ([]*DagRow, error) {
	rows, err := q.Query(ctx, `SELECT `+dagColumns+` FROM dag WHERE is_active OR $1 ORDER BY dag_id`, all)
	if err != nil {
		return nil, fmt.Errorf("list dags: %w", err)
	}
	defer rows.Close()
	var out []*DagRow
	for rows.Next() {
		d, err := scanDag(rows)
		if err != nil {
			return nil, fmt.Errorf("list dags: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// SetPaused pauses or unpauses a DAG. Unpausing asks the schedulers to
// recompute its next run.
func SetPaused(ctx context.Context, q DBTX, dagID string, paused bool) error {
	tag, err := q.Exec(ctx, `UPDATE dag SET is_paused = $2,
		next_dagrun_create_after = CASE WHEN $2 THEN next_dagrun_create_after ELSE now() END
		WHERE dag_id = $1`, dagID, paused)
	if err != nil {
		return fmt.Errorf("set paused on %s: %w", dagID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("dag %q: %w", dagID, ErrNotFound)
	}
	return nil
}

// LockDueDAGs locks, skipping rows other schedulers hold, up to limit
// active, unpaused DAGs whose next run may be due.
func LockDueDAGs(ctx context.Context, tx pgx.Tx, limit int) ([]*DagRow, error) {
	rows, err := tx.Query(ctx, `SELECT `+dagColumns+` FROM dag
		WHERE is_active AND NOT is_paused AND next_dagrun_create_after <= now()
		ORDER BY next_dagrun_create_after LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
	if err != nil {
		return nil, fmt.Errorf("lock due dags: %w", err)
	}
	defer rows.Close()
	var out []*DagRow
	for rows.Next() {
		d, err := scanDag(rows)
		if err != nil {
			return nil, fmt.Errorf("lock due dags: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// SetNextDagrun records a DAG's next automated run; a nil createAfter means
// "nothing to create until something changes".
func SetNextDagrun(ctx context.Context, q DBTX, dagID string, logical, ivStart, ivEnd, createAfter *time.Time) error {
	_, err := q.Exec(ctx, `UPDATE dag SET next_dagrun = $2, next_dagrun_data_interval_start = $3,
		next_dagrun_data_interval_end = $4, next_dagrun_create_after = $5 WHERE dag_id = $1`,
		dagID, logical, ivStart, ivEnd, createAfter)
	if err != nil {
		return fmt.Errorf("set next dagrun of %s: %w", dagID, err)
	}
	return nil
}

// WakeBlockedDAG re-arms run creation of a DAG that waited on
// max_active_runs (next run known, creation time cleared).
func WakeBlockedDAG(ctx context.Context, q DBTX, dagID string) error {
	_, err := q.Exec(ctx, `UPDATE dag SET next_dagrun_create_after = now()
		WHERE dag_id = $1 AND next_dagrun IS NOT NULL AND next_dagrun_create_after IS NULL`, dagID)
	if err != nil {
		return fmt.Errorf("wake dag %s: %w", dagID, err)
	}
	return nil
}

// LoadSerializedDAG returns the serialized DAG with the given hash.
func LoadSerializedDAG(ctx context.Context, q DBTX, hash string) ([]byte, error) {
	var data []byte
	err := q.QueryRow(ctx, `SELECT data FROM serialized_dag WHERE dag_hash = $1`, hash).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("serialized dag %s: %w", hash, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load serialized dag %s: %w", hash, err)
	}
	return data, nil
}

// ImportError is a DAG file that failed to parse.
type ImportError struct {
	ID         int64     `json:"import_error_id"`
	Filename   string    `json:"filename"`
	Stacktrace string    `json:"stack_trace"`
	Timestamp  time.Time `json:"timestamp"`
}

// SetImportError records (or replaces) the import error of a file.
func SetImportError(ctx context.Context, q DBTX, filename, msg string) error {
	_, err := q.Exec(ctx, `INSERT INTO import_error (filename, stacktrace) VALUES ($1, $2)
		ON CONFLICT (filename) DO UPDATE SET stacktrace = EXCLUDED.stacktrace, timestamp = now()
		WHERE import_error.stacktrace <> EXCLUDED.stacktrace`, filename, msg)
	if err != nil {
		return fmt.Errorf("record import error of %s: %w", filename, err)
	}
	return nil
}

// ClearImportErrors deletes the import errors of the given files.
func ClearImportErrors(ctx context.Context, q DBTX, filenames []string) error {
	_, err := q.Exec(ctx, `DELETE FROM import_error WHERE filename = ANY($1)`, filenames)
	if err != nil {
		return fmt.Errorf("clear import errors: %w", err)
	}
	return nil
}

// ClearImportErrorsNotIn deletes the import errors of files that are gone.
func ClearImportErrorsNotIn(ctx context.Context, q DBTX, filenames []string) error {
	_, err := q.Exec(ctx, `DELETE FROM import_error WHERE filename <> ALL($1)`, filenames)
	if err != nil {
		return fmt.Errorf("clear import errors: %w", err)
	}
	return nil
}

// ListImportErrors returns every import error by file name.
func ListImportErrors(ctx context.Context, q DBTX) ([]ImportError, error) {
	rows, err := q.Query(ctx, `SELECT id, filename, stacktrace, timestamp FROM import_error ORDER BY filename`)
	if err != nil {
		return nil, fmt.Errorf("list import errors: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ImportError])
	if err != nil {
		return nil, fmt.Errorf("list import errors: %w", err)
	}
	return out, nil
}

// SerializedDAGFiles returns the file text and files stored with the DAG
// version of the given hash.
func SerializedDAGFiles(ctx context.Context, q DBTX, hash string) (DagVersionFiles, error) {
	var src *string
	var out DagVersionFiles
	err := q.QueryRow(ctx, `SELECT source, files FROM serialized_dag WHERE dag_hash = $1`, hash).Scan(&src, &out.Files)
	if errors.Is(err, pgx.ErrNoRows) {
		return out, fmt.Errorf("source of dag version %s: %w", hash, ErrNotFound)
	}
	if err != nil {
		return out, fmt.Errorf("source of dag version %s: %w", hash, err)
	}
	if src == nil {
		return out, fmt.Errorf("dag version %s was stored without its file", hash)
	}
	out.Source = *src
	return out, nil
}

// DagSource returns the file text stored with a DAG's version (its
// current one when version is 0) and that version's number, or ErrNotFound.
func DagSource(ctx context.Context, q DBTX, dagID string, version int) (string, int, error) {
	var src *string
	var n int
	err := q.QueryRow(ctx, `WITH v AS (SELECT source, dag_hash, row_number() OVER (ORDER BY created_at, dag_hash)::int AS n
			FROM serialized_dag WHERE dag_id = $1)
		SELECT source, n FROM v
		WHERE ($2 = 0 AND dag_hash = (SELECT dag_hash FROM dag WHERE dag_id = $1)) OR n = $2`, dagID, version).Scan(&src, &n)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0, fmt.Errorf("source of dag %s version %d: %w", dagID, version, ErrNotFound)
	}
	if err != nil {
		return "", 0, fmt.Errorf("source of dag %s: %w", dagID, err)
	}
	if src == nil {
		return "", n, nil
	}
	return *src, n, nil
}

// HasImportError reports whether a file has an import error.
func HasImportError(ctx context.Context, q DBTX, filename string) (bool, error) {
	var has bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM import_error WHERE filename = $1)`, filename).Scan(&has); err != nil {
		return false, fmt.Errorf("check import errors of %s: %w", filename, err)
	}
	return has, nil
}
