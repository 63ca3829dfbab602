package metadb

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The Home page's counts, with Airflow's window: a run counts when it
// started at or after start (a run not started yet: now) and ended at or
// before end (not ended: now; end nil: now). The task instances are those
// of the same runs.

// RunCount is the number of runs of one type in one state.
type RunCount struct {
	RunType, State string
	N              int
}

// CountRunsByTypeAndState counts the runs of the window by type and state.
func CountRunsByTypeAndState(ctx context.Context, q DBTX, start time.Time, end *time.Time) ([]RunCount, error) {
	rows, err := q.Query(ctx, `SELECT run_type, state, count(*) FROM dag_run
		WHERE coalesce(start_date, now()) >= $1 AND coalesce(end_date, now()) <= coalesce($2, now())
		GROUP BY run_type, state`, start, end)
	if err != nil {
		return nil, fmt.Errorf("count runs by type and state: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RunCount, error) {
		var c RunCount
		err := r.Scan(&c.RunType, &c.State, &c.N)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("count runs by type and state: %w", err)
	}
	return out, nil
}

// CountTIsByState counts the task instances of the window's runs by state
// ("no_status" for none).
func CountTIsByState(ctx context.Context, q DBTX, start time.Time, end *time.Time) (map[string]int, error) {
	rows, err := q.Query(ctx, `SELECT coalesce(ti.state, 'no_status'), count(*) FROM task_instance ti
		JOIN dag_run r ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id
		WHERE coalesce(r.start_date, now()) >= $1 AND coalesce(r.end_date, now()) <= coalesce($2, now())
		GROUP BY 1`, start, end)
	if err != nil {
		return nil, fmt.Errorf("count task instances by state: %w", err)
	}
	out := map[string]int{}
	var state string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&state, &n}, func() error {
		out[state] += n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count task instances by state: %w", err)
	}
	return out, nil
}
