package metadb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Backfill is one row of backfill (Airflow 3's scheduler-managed backfill).
type Backfill struct {
	ID                int64
	DagID             string
	FromDate, ToDate  time.Time
	DagRunConf        map[string]any
	IsPaused          bool
	ReprocessBehavior string // none, failed or completed
	MaxActiveRuns     int
	CreatedAt         time.Time
	CompletedAt       *time.Time
	UpdatedAt         time.Time
}

const backfillColumns = `id, dag_id, from_date, to_date, dag_run_conf, is_paused, reprocess_behavior, max_active_runs,
	created_at, completed_at, updated_at`

func scanBackfill(row pgx.Row) (*Backfill, error) {
	var b Backfill
	err := row.Scan(&b.ID, &b.DagID, &b.FromDate, &b.ToDate, &b.DagRunConf, &b.IsPaused, &b.ReprocessBehavior,
		&b.MaxActiveRuns, &b.CreatedAt, &b.CompletedAt, &b.UpdatedAt)
	return &b, err
}

// ErrBackfillRunning is returned when a DAG already has an unfinished
// backfill (Airflow allows one at a time per DAG).
var ErrBackfillRunning = errors.New("another backfill is running for this dag")

// CreateBackfill inserts a backfill, refusing a second unfinished one for
// the same DAG; the DAG row is locked so that two creations serialise.
func CreateBackfill(ctx context.Context, tx pgx.Tx, b *Backfill) error {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM dag WHERE dag_id = $1 FOR UPDATE`, b.DagID); err != nil {
		return fmt.Errorf("lock dag %s: %w", b.DagID, err)
	}
	var running int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM backfill WHERE dag_id = $1 AND completed_at IS NULL`, b.DagID).Scan(&running); err != nil {
		return fmt.Errorf("check backfills of %s: %w", b.DagID, err)
	}
	if running > 0 {
		return fmt.Errorf("backfill of %s: %w", b.DagID, ErrBackfillRunning)
	}
	conf := b.DagRunConf
	if conf == nil {
		conf = map[string]any{}
	}
	err := tx.QueryRow(ctx, `INSERT INTO backfill (dag_id, from_date, to_date, dag_run_conf, reprocess_behavior, max_active_runs)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+backfillColumns,
		b.DagID, b.FromDate, b.ToDate, conf, b.ReprocessBehavior, b.MaxActiveRuns).
		Scan(&b.ID, &b.DagID, &b.FromDate, &b.ToDate, &b.DagRunConf, &b.IsPaused, &b.ReprocessBehavior,
			&b.MaxActiveRuns, &b.CreatedAt, &b.CompletedAt, &b.UpdatedAt)
	if err != nil {
		return fmt.Errorf("create backfill of %s: %w", b.DagID, err)
	}
	return nil
}

// GetBackfill returns one backfill, or ErrNotFound.
func GetBackfill(ctx context.Context, q DBTX, id int64) (*Backfill, error) {
	b, err := scanBackfill(q.QueryRow(ctx, `SELECT `+backfillColumns+` FROM backfill WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("backfill %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get backfill %d: %w", id, err)
	}
	return b, nil
}

// ListBackfills returns a page of backfills (of one DAG unless dagID is
// "") and how many there are.
func ListBackfills(ctx context.Context, q DBTX, dagID string, page Page) ([]*Backfill, int, error) {
	order, err := page.orderBy(map[string]string{"id": "id", "dag_id": "dag_id", "from_date": "from_date", "to_date": "to_date",
		"created_at": "created_at", "completed_at": "completed_at", "updated_at": "updated_at", "is_paused": "is_paused"}, "id")
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM backfill WHERE ($1 = '' OR dag_id = $1)`, dagID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count backfills: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT `+backfillColumns+` FROM backfill WHERE ($1 = '' OR dag_id = $1) ORDER BY `+order+
		fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), dagID)
	if err != nil {
		return nil, 0, fmt.Errorf("list backfills: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Backfill, error) { return scanBackfill(r) })
	if err != nil {
		return nil, 0, fmt.Errorf("list backfills: %w", err)
	}
	return out, total, nil
}

// ErrBackfillDone is returned when a completed backfill is changed.
var ErrBackfillDone = errors.New("backfill is already completed")

// SetBackfillPaused pauses or unpauses an unfinished backfill; the
// schedulers admit no run of a paused backfill.
func SetBackfillPaused(ctx context.Context, q DBTX, id int64, paused bool) error {
	tag, err := q.Exec(ctx, `UPDATE backfill SET is_paused = $2, updated_at = now() WHERE id = $1 AND completed_at IS NULL`, id, paused)
	if err != nil {
		return fmt.Errorf("pause backfill %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		if _, err := GetBackfill(ctx, q, id); err != nil {
			return err
		}
		return fmt.Errorf("backfill %d: %w", id, ErrBackfillDone)
	}
	return nil
}

// CancelBackfill completes a backfill now, paused, and fails its runs that
// have not started, as Airflow's cancel.
func CancelBackfill(ctx context.Context, tx pgx.Tx, id int64) error {
	tag, err := tx.Exec(ctx, `UPDATE backfill SET completed_at = now(), is_paused = true, updated_at = now()
		WHERE id = $1 AND completed_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("cancel backfill %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		if _, err := GetBackfill(ctx, tx, id); err != nil {
			return err
		}
		return fmt.Errorf("backfill %d: %w", id, ErrBackfillDone)
	}
	if _, err := tx.Exec(ctx, `UPDATE dag_run SET state = 'failed', end_date = now() WHERE backfill_id = $1 AND state = 'queued'`, id); err != nil {
		return fmt.Errorf("fail queued runs of backfill %d: %w", id, err)
	}
	return nil
}

// BackfillAdmission is what the scheduler needs to admit a backfill run.
type BackfillAdmission struct {
	Paused        bool
	MaxActiveRuns int
	Running       int
}

// BackfillAdmissionOf reads a backfill's pause, limit and running runs.
func BackfillAdmissionOf(ctx context.Context, q DBTX, id int64) (*BackfillAdmission, error) {
	var a BackfillAdmission
	err := q.QueryRow(ctx, `SELECT b.is_paused, b.max_active_runs,
			(SELECT count(*) FROM dag_run r WHERE r.backfill_id = b.id AND r.state = 'running')
		FROM backfill b WHERE b.id = $1`, id).Scan(&a.Paused, &a.MaxActiveRuns, &a.Running)
	if err != nil {
		return nil, fmt.Errorf("backfill %d admission: %w", id, err)
	}
	return &a, nil
}

// CompleteBackfillIfDone marks a backfill completed once none of its runs
// is queued or running.
func CompleteBackfillIfDone(ctx context.Context, q DBTX, id int64) error {
	_, err := q.Exec(ctx, `UPDATE backfill SET completed_at = now(), updated_at = now()
		WHERE id = $1 AND completed_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM dag_run WHERE backfill_id = $1 AND state IN ('queued', 'running'))`, id)
	if err != nil {
		return fmt.Errorf("complete backfill %d: %w", id, err)
	}
	return nil
}

// AttachRunToBackfill makes an existing run (run again by a backfill)
// belong to it.
func AttachRunToBackfill(ctx context.Context, q DBTX, runID, backfillID int64) error {
	if _, err := q.Exec(ctx, `UPDATE dag_run SET backfill_id = $2 WHERE id = $1`, runID, backfillID); err != nil {
		return fmt.Errorf("attach run %d to backfill %d: %w", runID, backfillID, err)
	}
	return nil
}
