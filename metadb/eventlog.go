package metadb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Event is one row of the audit log (Airflow's `log` table).
type Event struct {
	ID          int64      `json:"event_log_id"`
	When        time.Time  `json:"when"`
	Event       string     `json:"event"`
	Owner       *string    `json:"owner"`
	DagID       *string    `json:"dag_id"`
	RunID       *string    `json:"run_id"`
	TaskID      *string    `json:"task_id"`
	MapIndex    *int       `json:"map_index"`
	TryNumber   *int       `json:"try_number"`
	LogicalDate *time.Time `json:"logical_date"`
	Extra       *string    `json:"extra"`
}

// AddEvent appends one event; empty strings are stored as NULL.
func AddEvent(ctx context.Context, q DBTX, e *Event) error {
	err := q.QueryRow(ctx, `INSERT INTO event_log (event, owner, dag_id, run_id, task_id, map_index, try_number, logical_date, extra)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id, dttm`,
		e.Event, e.Owner, e.DagID, e.RunID, e.TaskID, e.MapIndex, e.TryNumber, e.LogicalDate, e.Extra).Scan(&e.ID, &e.When)
	if err != nil {
		return fmt.Errorf("record event %s: %w", e.Event, err)
	}
	return nil
}

const eventColumns = `id, dttm, event, owner, dag_id, run_id, task_id, map_index, try_number, logical_date, extra`

func scanEvent(row pgx.Row) (*Event, error) {
	var e Event
	err := row.Scan(&e.ID, &e.When, &e.Event, &e.Owner, &e.DagID, &e.RunID, &e.TaskID, &e.MapIndex, &e.TryNumber, &e.LogicalDate, &e.Extra)
	return &e, err
}

// EventFilter selects events; zero fields match everything.
type EventFilter struct {
	DagID, TaskID, RunID, Owner, Event string
	MapIndex, TryNumber                *int
	IncludedEvents, ExcludedEvents     []string
	Before, After                      *time.Time
	// The API's *_pattern values (see likeTerms).
	DagIDPattern, TaskIDPattern string
	RunIDPattern, OwnerPattern  string
	EventPattern                string
}

// eventOrder maps the API's order_by names to columns.
var eventOrder = map[string]string{
	"id": "id", "event_log_id": "id", "dttm": "dttm", "when": "dttm", "event": "event", "owner": "owner",
	"dag_id": "dag_id", "task_id": "task_id", "run_id": "run_id", "logical_date": "logical_date", "extra": "extra",
}

// ListEvents returns a page of matching events and their total count.
func ListEvents(ctx context.Context, q DBTX, f EventFilter, page Page) ([]*Event, int, error) {
	order, err := page.orderBy(eventOrder, "id")
	if err != nil {
		return nil, 0, err
	}
	where := `($1 = '' OR dag_id = $1) AND ($2 = '' OR task_id = $2) AND ($3 = '' OR run_id = $3)
		AND ($4 = '' OR owner = $4) AND ($5 = '' OR event = $5)
		AND ($6::int IS NULL OR map_index = $6) AND ($7::int IS NULL OR try_number = $7)
		AND (cardinality($8::text[]) = 0 OR event = ANY($8)) AND NOT (event = ANY($9::text[]))
		AND ($10::timestamptz IS NULL OR dttm < $10) AND ($11::timestamptz IS NULL OR dttm > $11)
		AND (cardinality($12::text[]) = 0 OR dag_id ILIKE ANY($12)) AND (cardinality($13::text[]) = 0 OR task_id ILIKE ANY($13))
		AND (cardinality($14::text[]) = 0 OR run_id ILIKE ANY($14)) AND (cardinality($15::text[]) = 0 OR owner ILIKE ANY($15))
		AND (cardinality($16::text[]) = 0 OR event ILIKE ANY($16))`
	args := []any{f.DagID, f.TaskID, f.RunID, f.Owner, f.Event, f.MapIndex, f.TryNumber,
		nonNil(f.IncludedEvents), nonNil(f.ExcludedEvents), f.Before, f.After,
		likeTerms(f.DagIDPattern), likeTerms(f.TaskIDPattern), likeTerms(f.RunIDPattern), likeTerms(f.OwnerPattern),
		likeTerms(f.EventPattern)}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM event_log WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count events: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT `+eventColumns+` FROM event_log WHERE `+where+` ORDER BY `+order+
		fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list events: %w", err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Event, error) { return scanEvent(r) })
	if err != nil {
		return nil, 0, fmt.Errorf("list events: %w", err)
	}
	return es, total, nil
}

// GetEvent returns one event, or ErrNotFound.
func GetEvent(ctx context.Context, q DBTX, id int64) (*Event, error) {
	e, err := scanEvent(q.QueryRow(ctx, `SELECT `+eventColumns+` FROM event_log WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("event log %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get event log %d: %w", id, err)
	}
	return e, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
