package metadb

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DagWarning is one row of the dag_warning table. WarningType is one of
// Airflow's DagWarningType values or gust's own (see dagspec.Warning*).
type DagWarning struct {
	DagID       string    `json:"dag_id"`
	WarningType string    `json:"warning_type"`
	Message     string    `json:"message"`
	Timestamp   time.Time `json:"timestamp"`
}

// SetDagWarnings replaces the warnings of a DAG with ws (DagID and
// Timestamp of each are ignored). A warning whose message is unchanged
// keeps its timestamp. The dag row must exist.
func SetDagWarnings(ctx context.Context, q DBTX, dagID string, ws []DagWarning) error {
	types := make([]string, 0, len(ws))
	msgs := make([]string, 0, len(ws))
	for _, w := range ws {
		types = append(types, w.WarningType)
		msgs = append(msgs, w.Message)
	}
	_, err := q.Exec(ctx, `WITH new AS (
			SELECT * FROM unnest($2::text[], $3::text[]) AS n(warning_type, message)
		), gone AS (
			DELETE FROM dag_warning w WHERE w.dag_id = $1
				AND w.warning_type NOT IN (SELECT warning_type FROM new)
		)
		INSERT INTO dag_warning (dag_id, warning_type, message)
		SELECT $1, warning_type, message FROM new
		ON CONFLICT (dag_id, warning_type) DO UPDATE SET message = EXCLUDED.message, timestamp = now()
		WHERE dag_warning.message <> EXCLUDED.message`, dagID, types, msgs)
	if err != nil {
		return fmt.Errorf("set warnings of dag %s: %w", dagID, err)
	}
	return nil
}

// DeleteInactiveDagWarnings removes the warnings of DAGs that are no longer
// active, as Airflow purges those of stale DAGs.
func DeleteInactiveDagWarnings(ctx context.Context, q DBTX) error {
	_, err := q.Exec(ctx, `DELETE FROM dag_warning w USING dag d WHERE d.dag_id = w.dag_id AND NOT d.is_active`)
	if err != nil {
		return fmt.Errorf("delete warnings of inactive dags: %w", err)
	}
	return nil
}

// ListDagWarnings returns the warnings of one DAG, or of every DAG when
// dagID is "", by dag_id then warning_type.
func ListDagWarnings(ctx context.Context, q DBTX, dagID string) ([]DagWarning, error) {
	rows, err := q.Query(ctx, `SELECT dag_id, warning_type, message, timestamp FROM dag_warning
		WHERE $1 = '' OR dag_id = $1 ORDER BY dag_id, warning_type`, dagID)
	if err != nil {
		return nil, fmt.Errorf("list dag warnings: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[DagWarning])
	if err != nil {
		return nil, fmt.Errorf("list dag warnings: %w", err)
	}
	return out, nil
}

// DagWarningFilter selects DAG warnings; zero fields match everything.
type DagWarningFilter struct {
	DagID string
	Types []string // any of these warning types
}

var dagWarningOrder = map[string]string{"dag_id": "dag_id", "warning_type": "warning_type", "message": "message",
	"timestamp": "timestamp"}

// ListDagWarningsPage returns a page of the DAG warnings that match f and
// how many match.
func ListDagWarningsPage(ctx context.Context, q DBTX, f DagWarningFilter, page Page) ([]DagWarning, int, error) {
	order, err := page.orderBy(dagWarningOrder, "dag_id, warning_type")
	if err != nil {
		return nil, 0, err
	}
	const where = `($1 = '' OR dag_id = $1) AND (cardinality($2::text[]) = 0 OR warning_type = ANY($2))`
	args := []any{f.DagID, nonNil(f.Types)}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM dag_warning WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count dag warnings: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT dag_id, warning_type, message, timestamp FROM dag_warning WHERE `+where+
		` ORDER BY `+order+fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list dag warnings: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[DagWarning])
	if err != nil {
		return nil, 0, fmt.Errorf("list dag warnings: %w", err)
	}
	return out, total, nil
}
