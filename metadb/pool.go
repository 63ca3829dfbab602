package metadb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// DefaultPool is the pool of tasks that name none; it cannot be deleted.
const DefaultPool = "default_pool"

// Pool is a slot pool with its current use.
type Pool struct {
	Name            string `json:"pool"`
	Slots           int    `json:"slots"` // -1: unlimited
	Description     string `json:"description"`
	IncludeDeferred bool   `json:"include_deferred"`
	RunningSlots    int    `json:"running_slots"`
	QueuedSlots     int    `json:"queued_slots"`
	ScheduledSlots  int    `json:"scheduled_slots"`
	DeferredSlots   int    `json:"deferred_slots"`
}

// OccupiedSlots are the slots in use: running and queued task instances,
// and deferred ones when the pool counts them (include_deferred), as
// Airflow's Pool.occupied_slots.
func (p *Pool) OccupiedSlots() int {
	n := p.RunningSlots + p.QueuedSlots
	if p.IncludeDeferred {
		n += p.DeferredSlots
	}
	return n
}

// OpenSlots is what is left (Slots - occupied), -1 when unlimited.
func (p *Pool) OpenSlots() int {
	if p.Slots < 0 {
		return -1
	}
	return p.Slots - p.OccupiedSlots()
}

const poolSelect = `SELECT p.pool, p.slots, p.description, p.include_deferred,
	coalesce(sum(ti.pool_slots) FILTER (WHERE ti.state = 'running'), 0),
	coalesce(sum(ti.pool_slots) FILTER (WHERE ti.state = 'queued'), 0),
	coalesce(sum(ti.pool_slots) FILTER (WHERE ti.state = 'scheduled'), 0),
	coalesce(sum(ti.pool_slots) FILTER (WHERE ti.state = 'deferred'), 0)
	FROM slot_pool p LEFT JOIN task_instance ti ON ti.pool = p.pool AND ti.state IN ('running', 'queued', 'scheduled', 'deferred')`

func scanPools(rows pgx.Rows) ([]*Pool, error) {
	defer rows.Close()
	var out []*Pool
	for rows.Next() {
		p := &Pool{}
		if err := rows.Scan(&p.Name, &p.Slots, &p.Description, &p.IncludeDeferred, &p.RunningSlots, &p.QueuedSlots, &p.ScheduledSlots, &p.DeferredSlots); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ListPools returns every pool, by name.
func ListPools(ctx context.Context, q DBTX) ([]*Pool, error) {
	rows, err := q.Query(ctx, poolSelect+` GROUP BY p.pool ORDER BY p.pool`)
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	ps, err := scanPools(rows)
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	return ps, nil
}

// GetPool returns one pool, or ErrNotFound.
func GetPool(ctx context.Context, q DBTX, name string) (*Pool, error) {
	rows, err := q.Query(ctx, poolSelect+` WHERE p.pool = $1 GROUP BY p.pool`, name)
	if err != nil {
		return nil, fmt.Errorf("get pool %s: %w", name, err)
	}
	ps, err := scanPools(rows)
	if err != nil {
		return nil, fmt.Errorf("get pool %s: %w", name, err)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("pool %q: %w", name, ErrNotFound)
	}
	return ps[0], nil
}

// poolOrder maps the API's order_by names to columns; gust's pools have no
// numeric id, so Airflow's default order "id" is by name.
var poolOrder = map[string]string{"id": "p.pool", "pool": "p.pool", "name": "p.pool"}

// ListPoolsPage returns a page of the pools whose name matches pattern (an
// API *_pattern, see likeTerms) and how many match.
func ListPoolsPage(ctx context.Context, q DBTX, pattern string, page Page) ([]*Pool, int, error) {
	order, err := page.orderBy(poolOrder, "p.pool")
	if err != nil {
		return nil, 0, err
	}
	const where = `(cardinality($1::text[]) = 0 OR p.pool ILIKE ANY($1))`
	terms := likeTerms(pattern)
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM slot_pool p WHERE `+where, terms).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count pools: %w", err)
	}
	rows, err := q.Query(ctx, poolSelect+` WHERE `+where+` GROUP BY p.pool ORDER BY `+order+
		fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), terms)
	if err != nil {
		return nil, 0, fmt.Errorf("list pools: %w", err)
	}
	ps, err := scanPools(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("list pools: %w", err)
	}
	return ps, total, nil
}

// ExistingPools returns which of names are pools.
func ExistingPools(ctx context.Context, q DBTX, names []string) (map[string]bool, error) {
	return existing(ctx, q, "slot_pool", "pool", names)
}

// CreatePool creates a pool; an existing name wraps ErrExists.
func CreatePool(ctx context.Context, q DBTX, name string, slots int, description string, includeDeferred bool) error {
	if name == "" {
		return errors.New("pool name must not be empty")
	}
	_, err := q.Exec(ctx, `INSERT INTO slot_pool (pool, slots, description, include_deferred) VALUES ($1, $2, $3, $4)`,
		name, slots, description, includeDeferred)
	if IsUniqueViolation(err) {
		return fmt.Errorf("pool %q: %w", name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create pool %s: %w", name, err)
	}
	return NotifySchedule(ctx, q)
}

// PoolUpdate is what UpdatePool changes; nil fields stay as they are.
type PoolUpdate struct {
	Slots           *int
	Description     *string
	IncludeDeferred *bool
}

// UpdatePool changes some fields of a pool, or returns ErrNotFound.
// Waiting schedulers are woken, since more slots may let tasks go.
func UpdatePool(ctx context.Context, q DBTX, name string, u PoolUpdate) error {
	if u.Slots != nil && *u.Slots < -1 {
		return fmt.Errorf("pool %s: slots must be -1 (unlimited) or more, got %d", name, *u.Slots)
	}
	tag, err := q.Exec(ctx, `UPDATE slot_pool SET slots = coalesce($2, slots), description = coalesce($3, description),
		include_deferred = coalesce($4, include_deferred) WHERE pool = $1`, name, u.Slots, u.Description, u.IncludeDeferred)
	if err != nil {
		return fmt.Errorf("update pool %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pool %q: %w", name, ErrNotFound)
	}
	return NotifySchedule(ctx, q)
}

// SetPool creates or updates a pool. Waiting schedulers are woken, since
// more slots may let tasks go.
func SetPool(ctx context.Context, q DBTX, name string, slots int, description string, includeDeferred bool) error {
	if name == "" {
		return errors.New("pool name must not be empty")
	}
	if slots < -1 {
		return fmt.Errorf("pool %s: slots must be -1 (unlimited) or more, got %d", name, slots)
	}
	_, err := q.Exec(ctx, `INSERT INTO slot_pool (pool, slots, description, include_deferred) VALUES ($1, $2, $3, $4)
		ON CONFLICT (pool) DO UPDATE SET slots = EXCLUDED.slots, description = EXCLUDED.description,
			include_deferred = EXCLUDED.include_deferred`, name, slots, description, includeDeferred)
	if err != nil {
		return fmt.Errorf("set pool %s: %w", name, err)
	}
	return NotifySchedule(ctx, q)
}

// DeletePool deletes a pool; default_pool cannot be deleted.
func DeletePool(ctx context.Context, q DBTX, name string) error {
	if name == DefaultPool {
		return errors.New("default_pool cannot be deleted")
	}
	tag, err := q.Exec(ctx, `DELETE FROM slot_pool WHERE pool = $1`, name)
	if err != nil {
		return fmt.Errorf("delete pool %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pool %q: %w", name, ErrNotFound)
	}
	return nil
}

// PoolNames returns the names of every pool.
func PoolNames(ctx context.Context, q DBTX) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT pool FROM slot_pool ORDER BY pool`)
	if err != nil {
		return nil, fmt.Errorf("list pool names: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list pool names: %w", err)
	}
	return names, nil
}
