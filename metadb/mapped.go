package metadb

import (
	"context"
	"encoding/json"
	"fmt"
)

// Mapped tasks (dynamic task mapping): their expansion in a run, and the
// XComs they map over.

// MappingXCom reads an upstream's XCom under key as a mapped task maps over
// it: a plain task's value, a mapped task's values in map index order (the
// instances that pushed one). found is false when none was pushed.
func MappingXCom(ctx context.Context, q DBTX, dagID, runID, taskID, key string) (any, bool, error) {
	rows, err := q.Query(ctx, `SELECT map_index, value FROM xcom
		WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND key = $4 ORDER BY map_index`, dagID, runID, taskID, key)
	if err != nil {
		return nil, false, fmt.Errorf("read xcom %s of %s.%s: %w", key, dagID, taskID, err)
	}
	defer rows.Close()
	var list []any
	for rows.Next() {
		var idx int
		var raw []byte
		if err := rows.Scan(&idx, &raw); err != nil {
			return nil, false, fmt.Errorf("read xcom %s of %s.%s: %w", key, dagID, taskID, err)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, false, fmt.Errorf("read xcom %s of %s.%s: %w", key, dagID, taskID, err)
		}
		if idx < 0 {
			return v, true, nil
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("read xcom %s of %s.%s: %w", key, dagID, taskID, err)
	}
	if list == nil {
		return nil, false, nil
	}
	return list, true, nil
}

// ExpandMapped gives a mapped task n instances in a run: the unexpanded
// instance becomes map index 0 and 1..n-1 are added, in state none; when
// the task was expanded before (and cleared), the missing ones are added
// and those at n or over, in state none, become removed. n == 0 skips the
// task. It returns how many instances it changed.
func ExpandMapped(ctx context.Context, q DBTX, dagID, runID, taskID string, n int) (int64, error) {
	where := fmt.Sprintf("expand %s/%s/%s to %d", dagID, runID, taskID, n)
	if n == 0 {
		tag, err := q.Exec(ctx, `UPDATE task_instance SET state = 'skipped', start_date = now(), end_date = now(), duration = 0,
			updated_at = now() WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND state IS NULL`, dagID, runID, taskID)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", where, err)
		}
		return tag.RowsAffected(), nil
	}
	var total int64
	for _, stmt := range []string{
		`UPDATE task_instance SET map_index = 0, updated_at = now()
			WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = -1 AND state IS NULL AND $4::int > 0`,
		`INSERT INTO task_instance (dag_id, run_id, task_id, map_index, max_tries, operator, pool, pool_slots, queue, priority_weight)
			SELECT t.dag_id, t.run_id, t.task_id, g, t.max_tries, t.operator, t.pool, t.pool_slots, t.queue, t.priority_weight
			FROM task_instance t CROSS JOIN generate_series(1, $4::int - 1) g
			WHERE t.dag_id = $1 AND t.run_id = $2 AND t.task_id = $3 AND t.map_index = 0
			ON CONFLICT DO NOTHING`,
		`UPDATE task_instance SET state = NULL, updated_at = now()
			WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index < $4 AND state = 'removed'`,
		`UPDATE task_instance SET state = 'removed', updated_at = now()
			WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index >= $4 AND state IS NULL`,
	} {
		tag, err := q.Exec(ctx, stmt, dagID, runID, taskID, n)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", where, err)
		}
		total += tag.RowsAffected()
	}
	return total, nil
}

// FailUnexpandable fails a mapped task whose expansion cannot be made (what
// it maps over is not a list, too long, missing), the reason as its note.
func FailUnexpandable(ctx context.Context, q DBTX, dagID, runID, taskID, reason string) (int64, error) {
	tag, err := q.Exec(ctx, `UPDATE task_instance SET state = 'failed', start_date = now(), end_date = now(), duration = 0,
		note = $4, updated_at = now() WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND state IS NULL`, dagID, runID, taskID, reason)
	if err != nil {
		return 0, fmt.Errorf("fail mapped task %s/%s/%s: %w", dagID, runID, taskID, err)
	}
	return tag.RowsAffected(), nil
}
