package metadb

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Purging old metadata (`gust db clean`, Airflow 3's `airflow db clean`).

// CleanTables are the tables `db clean` purges, by Airflow's names, with
// what counts as old in each.
var CleanTables = []CleanTable{
	{Name: "dag_run", Rule: "finished runs whose end_date is before the timestamp, with their task instances, XComs and logs; " +
		"the latest scheduled run of each DAG is kept (the scheduler continues from it)"},
	{Name: "job", Rule: "scheduler and worker jobs whose latest_heartbeat is before the timestamp and that ended, or whose heartbeats stopped over an hour ago"},
	{Name: "log", Rule: "audit log (event_log) entries whose dttm is before the timestamp"},
	{Name: "task_log", Rule: "task logs of finished tries last written before the timestamp (their runs stay)"},
}

// CleanTable is one table db clean purges.
type CleanTable struct {
	Name string
	Rule string // what is deleted, for --help and dry runs
}

// CleanOptions says what to purge.
type CleanOptions struct {
	Before        time.Time
	Tables        []string // CleanTables names; empty: all
	DagIDs        []string // only these DAGs (tables with a dag_id); empty: all
	ExcludeDagIDs []string
	DryRun        bool // count only
	BatchSize     int  // rows per transaction; 0: one transaction per table
}

// CleanResult is what db clean found, or deleted, in one table.
type CleanResult struct {
	Table string
	Rows  int64
	// With counts the rows of other tables that go with them (dag_run:
	// task_instance, xcom, task_log), by table.
	With map[string]int64
}

// cleanWhere returns, per table, the condition on alias t selecting old
// rows; $1 is the timestamp, $2 and $3 (for tables with a dag_id) the DAG
// ids to include (empty: all) and exclude.
var cleanWhere = map[string]string{
	"dag_run": `t.state IN ('success', 'failed') AND t.end_date < $1
		AND (cardinality($2::text[]) = 0 OR t.dag_id = ANY($2)) AND NOT (t.dag_id = ANY($3::text[]))
		AND t.id <> coalesce((SELECT k.id FROM dag_run k WHERE k.dag_id = t.dag_id AND k.run_type = 'scheduled'
			ORDER BY k.logical_date DESC LIMIT 1), -1)`,
	"job": `t.latest_heartbeat < $1 AND (t.state <> 'running' OR t.latest_heartbeat < now() - interval '1 hour')`,
	"log": `t.dttm < $1 AND (cardinality($2::text[]) = 0 OR t.dag_id = ANY($2)) AND NOT (coalesce(t.dag_id, '') = ANY($3::text[]))`,
	"task_log": `(cardinality($2::text[]) = 0 OR t.dag_id = ANY($2)) AND NOT (t.dag_id = ANY($3::text[]))
		AND (t.dag_id, t.run_id, t.task_id, t.map_index, t.try_number) IN (
			SELECT l.dag_id, l.run_id, l.task_id, l.map_index, l.try_number FROM task_log l
			JOIN task_instance ti ON ti.dag_id = l.dag_id AND ti.run_id = l.run_id AND ti.task_id = l.task_id
				AND ti.map_index = l.map_index
			WHERE l.try_number < ti.try_number OR coalesce(ti.state, '') NOT IN ('scheduled', 'queued', 'running', 'up_for_reschedule')
			GROUP BY l.dag_id, l.run_id, l.task_id, l.map_index, l.try_number HAVING max(l.written_at) < $1)`,
}

// cleanTableSQL names each CleanTables entry's real table.
var cleanTableSQL = map[string]string{"dag_run": "dag_run", "job": "job", "log": "event_log", "task_log": "task_log"}

// Clean counts, and unless DryRun deletes, the old rows of each table.
// Unknown table names are an error for the caller to word; it checks
// them with CleanTableNames.
func Clean(ctx context.Context, db *DB, o CleanOptions) ([]CleanResult, error) {
	tables := o.Tables
	if len(tables) == 0 {
		tables = CleanTableNames()
	}
	var out []CleanResult
	for _, name := range tables {
		where, ok := cleanWhere[name]
		if !ok {
			return out, fmt.Errorf("db clean: unknown table %q", name)
		}
		args := []any{o.Before}
		if name != "job" {
			args = append(args, nonNil(o.DagIDs), nonNil(o.ExcludeDagIDs))
		}
		table := cleanTableSQL[name]
		res := CleanResult{Table: name}
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM `+table+` t WHERE `+where, args...).Scan(&res.Rows); err != nil {
			return out, fmt.Errorf("db clean: count %s: %w", name, err)
		}
		if name == "dag_run" {
			res.With = map[string]int64{}
			for _, dep := range []string{"task_instance", "xcom", "task_log"} {
				var n int64
				if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM `+dep+` d JOIN dag_run t ON t.dag_id = d.dag_id AND t.run_id = d.run_id
					WHERE `+where, args...).Scan(&n); err != nil {
					return out, fmt.Errorf("db clean: count %s of old runs: %w", dep, err)
				}
				res.With[dep] = n
			}
		}
		if !o.DryRun && res.Rows > 0 {
			if err := cleanDelete(ctx, db, table, where, args, o.BatchSize); err != nil {
				return out, fmt.Errorf("db clean: delete from %s: %w", name, err)
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// cleanDelete deletes the matching rows, batch rows per transaction (0:
// all in one). A run takes its task instances, XComs and logs with it
// (ON DELETE CASCADE).
func cleanDelete(ctx context.Context, db *DB, table, where string, args []any, batch int) error {
	if batch <= 0 {
		_, err := db.Pool.Exec(ctx, `DELETE FROM `+table+` t WHERE `+where, args...)
		return err
	}
	for {
		var n int64
		err := db.InTx(ctx, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE ctid IN (SELECT t.ctid FROM `+table+` t WHERE `+where+
				fmt.Sprintf(` LIMIT %d)`, batch), args...)
			n = tag.RowsAffected()
			return err
		})
		if err != nil || n < int64(batch) {
			return err
		}
	}
}

// CleanTableNames lists the tables db clean knows.
func CleanTableNames() []string {
	out := make([]string, 0, len(CleanTables))
	for _, t := range CleanTables {
		out = append(out, t.Name)
	}
	slices.Sort(out)
	return out
}
