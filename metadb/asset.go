package metadb

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/common/dagspec"
)

// Assets: the assets DAGs name, the events successful tries record, and
// the events queued for the DAGs they schedule.

// upsertAsset stores an asset by URI (its name, group and extra as the
// latest DAG version gives them) and returns its id.
func upsertAsset(ctx context.Context, q DBTX, a dagspec.Asset) (int64, error) {
	extra := a.Extra
	if extra == nil {
		extra = map[string]any{}
	}
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO asset (uri, name, grp, extra) VALUES ($1, $2, $3, $4)
		ON CONFLICT (uri) DO UPDATE SET name = EXCLUDED.name, grp = EXCLUDED.grp, extra = EXCLUDED.extra, updated_at = now()
			WHERE (asset.name, asset.grp, asset.extra) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.grp, EXCLUDED.extra)
		RETURNING id`, a.URI, a.Name, a.Group, extra).Scan(&id)
	if err == pgx.ErrNoRows {
		err = q.QueryRow(ctx, `SELECT id FROM asset WHERE uri = $1`, a.URI).Scan(&id)
	}
	if err != nil {
		return 0, fmt.Errorf("store asset %s: %w", a.URI, err)
	}
	return id, nil
}

// upsertAlias stores an asset alias by name and returns its id.
func upsertAlias(ctx context.Context, q DBTX, al dagspec.AssetAlias) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO asset_alias (name, grp) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET grp = EXCLUDED.grp WHERE asset_alias.grp IS DISTINCT FROM EXCLUDED.grp
		RETURNING id`, al.Name, al.Group).Scan(&id)
	if err == pgx.ErrNoRows {
		err = q.QueryRow(ctx, `SELECT id FROM asset_alias WHERE name = $1`, al.Name).Scan(&id)
	}
	if err != nil {
		return 0, fmt.Errorf("store asset alias %s: %w", al.Name, err)
	}
	return id, nil
}

// SyncAssetRefs records which assets and aliases a DAG version is
// scheduled on and which assets its tasks update and read (replacing the
// previous version's).
func SyncAssetRefs(ctx context.Context, tx pgx.Tx, d *dagspec.DAG) error {
	for _, table := range []string{"dag_schedule_asset_reference", "dag_schedule_asset_alias_reference",
		"task_outlet_asset_reference", "task_inlet_asset_reference"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE dag_id = $1`, d.DagID); err != nil {
			return fmt.Errorf("asset references of %s: %w", d.DagID, err)
		}
	}
	ref := func(sql string, args ...any) error {
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			return fmt.Errorf("asset references of %s: %w", d.DagID, err)
		}
		return nil
	}
	if d.AssetSchedule != nil {
		for _, a := range d.AssetSchedule.Assets() {
			id, err := upsertAsset(ctx, tx, a)
			if err != nil {
				return err
			}
			if err := ref(`INSERT INTO dag_schedule_asset_reference (asset_id, dag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
				id, d.DagID); err != nil {
				return err
			}
		}
		for _, al := range d.AssetSchedule.Aliases() {
			id, err := upsertAlias(ctx, tx, al)
			if err != nil {
				return err
			}
			if err := ref(`INSERT INTO dag_schedule_asset_alias_reference (alias_id, dag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
				id, d.DagID); err != nil {
				return err
			}
		}
	}
	for _, t := range d.Tasks {
		for _, a := range t.Outlets {
			id, err := upsertAsset(ctx, tx, a)
			if err != nil {
				return err
			}
			if err := ref(`INSERT INTO task_outlet_asset_reference (asset_id, dag_id, task_id) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, id, d.DagID, t.TaskID); err != nil {
				return err
			}
		}
		for _, al := range t.OutletAliases {
			if _, err := upsertAlias(ctx, tx, al); err != nil {
				return err
			}
		}
		for _, r := range t.Inlets {
			if r.Alias != nil {
				if _, err := upsertAlias(ctx, tx, *r.Alias); err != nil {
					return err
				}
				continue
			}
			id, err := upsertAsset(ctx, tx, *r.Asset)
			if err != nil {
				return err
			}
			if err := ref(`INSERT INTO task_inlet_asset_reference (asset_id, dag_id, task_id) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, id, d.DagID, t.TaskID); err != nil {
				return err
			}
		}
	}
	return nil
}

// OutletEvent is an asset event a successful try records: one of its
// outlets' (with the extra the try gave it), or one it attached to its
// outlet aliases (outlet_events[alias].add(asset, extra)).
type OutletEvent struct {
	Asset   dagspec.Asset
	Extra   map[string]any
	Aliases []dagspec.AssetAlias
}

// RecordAssetEvents records a successful try's asset events, in the try's
// success transaction, and queues each for every active, unpaused DAG
// its asset schedules, and for those its aliases schedule (an alias now
// resolves to the asset too), as Airflow's register_asset_change.
func RecordAssetEvents(ctx context.Context, tx pgx.Tx, k TIKey, events []OutletEvent) error {
	for _, ev := range events {
		id, err := upsertAsset(ctx, tx, ev.Asset)
		if err != nil {
			return err
		}
		extra := ev.Extra
		if extra == nil {
			extra = map[string]any{}
		}
		var eventID int64
		if err := tx.QueryRow(ctx, `INSERT INTO asset_event (asset_id, extra, source_dag_id, source_task_id, source_run_id, source_map_index)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, id, extra, k.DagID, k.TaskID, k.RunID, k.MapIndex).Scan(&eventID); err != nil {
			return fmt.Errorf("asset event of %s for %s: %w", ev.Asset.URI, k, err)
		}
		aliasIDs := make([]int64, 0, len(ev.Aliases))
		for _, al := range ev.Aliases {
			aid, err := upsertAlias(ctx, tx, al)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `WITH r AS (INSERT INTO asset_alias_asset (alias_id, asset_id) VALUES ($1, $2) ON CONFLICT DO NOTHING)
				INSERT INTO asset_alias_asset_event (alias_id, event_id) VALUES ($1, $3) ON CONFLICT DO NOTHING`, aid, id, eventID); err != nil {
				return fmt.Errorf("asset event of %s through alias %s: %w", ev.Asset.URI, al.Name, err)
			}
			aliasIDs = append(aliasIDs, aid)
		}
		if err := queueForConsumers(ctx, tx, id, aliasIDs); err != nil {
			return err
		}
	}
	return nil
}

// queueForConsumers queues an asset's new event for its consumers. The
// upsert takes the queue row's lock even when the row exists: a scheduler
// consuming the row holds it, so this waits and queues anew once that run
// is made, rather than folding the event into a row about to be deleted
// (the event would then belong to no run). The row keeps the earliest
// time, so that no event it stands for is older.
func queueForConsumers(ctx context.Context, tx pgx.Tx, assetID int64, aliasIDs []int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO asset_dag_run_queue (asset_id, target_dag_id)
		SELECT $1, c.dag_id FROM (
			SELECT dag_id FROM dag_schedule_asset_reference WHERE asset_id = $1
			UNION SELECT dag_id FROM dag_schedule_asset_alias_reference WHERE alias_id = ANY($2)) c
		JOIN dag d USING (dag_id) WHERE d.is_active AND NOT d.is_paused
		ORDER BY c.dag_id
		ON CONFLICT (asset_id, target_dag_id) DO UPDATE SET created_at = least(asset_dag_run_queue.created_at, EXCLUDED.created_at)`, assetID, aliasIDs)
	if err != nil {
		return fmt.Errorf("queue asset %d for its consumers: %w", assetID, err)
	}
	return nil
}

// CreateAssetEvent records an event of an asset by hand (the API's POST
// /assets/events) and queues it for its consumers.
func CreateAssetEvent(ctx context.Context, tx pgx.Tx, assetID int64, extra map[string]any) (int64, error) {
	if extra == nil {
		extra = map[string]any{}
	}
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO asset_event (asset_id, extra) VALUES ($1, $2) RETURNING id`, assetID, extra).Scan(&id); err != nil {
		return 0, fmt.Errorf("asset event of %d: %w", assetID, err)
	}
	return id, queueForConsumers(ctx, tx, assetID, nil)
}

// QueuedDAGs returns the active, unpaused DAGs with queued asset events.
func QueuedDAGs(ctx context.Context, q DBTX, limit int) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT q.target_dag_id FROM asset_dag_run_queue q JOIN dag d ON d.dag_id = q.target_dag_id
		WHERE d.is_active AND NOT d.is_paused GROUP BY q.target_dag_id ORDER BY min(q.created_at) LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("dags with queued asset events: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// QueuedAsset is an asset updated since its consumer's last
// asset-triggered run.
type QueuedAsset struct {
	AssetID  int64
	URI      string
	QueuedAt time.Time
}

// LockQueuedAssets locks and returns a DAG's queued assets.
func LockQueuedAssets(ctx context.Context, tx pgx.Tx, dagID string) ([]QueuedAsset, error) {
	rows, err := tx.Query(ctx, `SELECT q.asset_id, a.uri, q.created_at FROM asset_dag_run_queue q JOIN asset a ON a.id = q.asset_id
		WHERE q.target_dag_id = $1 ORDER BY q.asset_id FOR UPDATE OF q`, dagID)
	if err != nil {
		return nil, fmt.Errorf("queued assets of %s: %w", dagID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (QueuedAsset, error) {
		var x QueuedAsset
		return x, r.Scan(&x.AssetID, &x.URI, &x.QueuedAt)
	})
	if err != nil {
		return nil, fmt.Errorf("queued assets of %s: %w", dagID, err)
	}
	return out, nil
}

// ConsumeQueuedAssets links a new asset-triggered run to the events of the
// queued assets it answers (those since each was queued that no run of the
// DAG consumed yet) and removes them from the DAG's queue. It returns the
// events' time span.
func ConsumeQueuedAssets(ctx context.Context, tx pgx.Tx, runID int64, dagID string, queued []QueuedAsset) (first, last *time.Time, err error) {
	ids := make([]int64, len(queued))
	for i, x := range queued {
		ids[i] = x.AssetID
	}
	err = tx.QueryRow(ctx, `WITH linked AS (
			INSERT INTO dagrun_asset_event (dag_run_id, event_id)
			SELECT $1, e.id FROM asset_event e JOIN asset_dag_run_queue q ON q.asset_id = e.asset_id AND q.target_dag_id = $2
			WHERE e.asset_id = ANY($3) AND e.timestamp >= q.created_at
				AND NOT EXISTS (SELECT 1 FROM dagrun_asset_event x JOIN dag_run r ON r.id = x.dag_run_id
					WHERE x.event_id = e.id AND r.dag_id = $2)
			ON CONFLICT DO NOTHING RETURNING event_id)
		SELECT min(e.timestamp), max(e.timestamp) FROM asset_event e WHERE e.id IN (SELECT event_id FROM linked)`,
		runID, dagID, ids).Scan(&first, &last)
	if err != nil {
		return nil, nil, fmt.Errorf("consume queued assets of %s: %w", dagID, err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM asset_dag_run_queue WHERE target_dag_id = $1 AND asset_id = ANY($2)`, dagID, ids); err != nil {
		return nil, nil, fmt.Errorf("consume queued assets of %s: %w", dagID, err)
	}
	return first, last, nil
}

// AliasAssets returns the URIs of the assets each of the named aliases
// resolved to (those events named through it).
func AliasAssets(ctx context.Context, q DBTX, names []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(names) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT al.name, a.uri FROM asset_alias al JOIN asset_alias_asset x ON x.alias_id = al.id
		JOIN asset a ON a.id = x.asset_id WHERE al.name = ANY($1) ORDER BY al.name, a.uri`, names)
	if err != nil {
		return nil, fmt.Errorf("assets of aliases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, uri string
		if err := rows.Scan(&name, &uri); err != nil {
			return nil, fmt.Errorf("assets of aliases: %w", err)
		}
		out[name] = append(out[name], uri)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("assets of aliases: %w", err)
	}
	return out, nil
}

// LockDAG locks a DAG's row for run creation, skipping it when another
// scheduler holds it (found false).
func LockDAG(ctx context.Context, tx pgx.Tx, dagID string) (*DagRow, bool, error) {
	d, err := scanDag(tx.QueryRow(ctx, `SELECT `+dagColumns+` FROM dag WHERE dag_id = $1 AND is_active AND NOT is_paused
		FOR UPDATE SKIP LOCKED`, dagID))
	if err == pgx.ErrNoRows {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("lock dag %s: %w", dagID, err)
	}
	return d, true, nil
}

// DropQueuedAssets forgets a DAG's queued assets.
func DropQueuedAssets(ctx context.Context, tx pgx.Tx, dagID string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM asset_dag_run_queue WHERE target_dag_id = $1`, dagID); err != nil {
		return fmt.Errorf("drop queued assets of %s: %w", dagID, err)
	}
	return nil
}

// SetRunInterval sets a run's data interval (an asset-triggered run's: the
// span of the events it consumed).
func SetRunInterval(ctx context.Context, tx pgx.Tx, runID int64, start, end time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE dag_run SET data_interval_start = $2, data_interval_end = $3 WHERE id = $1`, runID, start, end); err != nil {
		return fmt.Errorf("set the data interval of run %d: %w", runID, err)
	}
	return nil
}

// AssetRow is an asset as the API lists it.
type AssetRow struct {
	ID                   int64
	URI, Name, Group     string
	Extra                map[string]any
	CreatedAt, UpdatedAt time.Time
	ScheduledDags        []AssetDagRef
	ProducingTasks       []AssetTaskRef
	ConsumingTasks       []AssetTaskRef // the tasks that read it (inlets)
	Aliases              []AliasRow     // the aliases it resolved from
	LastEventID          *int64
	LastEventAt          *time.Time
}

// AssetDagRef and AssetTaskRef are an asset's references.
type AssetDagRef struct {
	DagID     string
	CreatedAt time.Time
}

type AssetTaskRef struct {
	DagID, TaskID string
	CreatedAt     time.Time
}

// AssetFilter selects assets; zero fields match everything.
type AssetFilter struct {
	ID                      *int64
	NamePattern, URIPattern string
	DagIDs                  []string // scheduled by or produced by one of these
}

// ListAssetsPage returns a page of assets and how many match.
func ListAssetsPage(ctx context.Context, q DBTX, f AssetFilter, page Page) ([]*AssetRow, int, error) {
	order, err := page.orderBy(map[string]string{"id": "a.id", "name": "a.name", "uri": "a.uri", "created_at": "a.created_at",
		"updated_at": "a.updated_at", "last_asset_event_timestamp": "le.timestamp"}, "a.id")
	if err != nil {
		return nil, 0, err
	}
	w := &where{}
	if f.ID != nil {
		w.add(`a.id = ?`, *f.ID)
	}
	if f.NamePattern != "" {
		w.add(`a.name ILIKE ANY(?)`, likeTerms(f.NamePattern))
	}
	if f.URIPattern != "" {
		w.add(`a.uri ILIKE ANY(?)`, likeTerms(f.URIPattern))
	}
	if len(f.DagIDs) > 0 {
		w.add(`(EXISTS (SELECT 1 FROM dag_schedule_asset_reference r WHERE r.asset_id = a.id AND r.dag_id = ANY(?))
			OR EXISTS (SELECT 1 FROM task_outlet_asset_reference r WHERE r.asset_id = a.id AND r.dag_id = ANY(?)))`, f.DagIDs, f.DagIDs)
	}
	from := ` FROM asset a LEFT JOIN LATERAL (SELECT e.id, e.timestamp FROM asset_event e WHERE e.asset_id = a.id
		ORDER BY e.timestamp DESC, e.id DESC LIMIT 1) le ON true WHERE ` + w.sql()
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*)`+from, w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count assets: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT a.id, a.uri, a.name, a.grp, a.extra, a.created_at, a.updated_at, le.id, le.timestamp,
		coalesce((SELECT json_agg(json_build_object('dag_id', r.dag_id, 'created_at', r.created_at) ORDER BY r.dag_id)
			FROM dag_schedule_asset_reference r WHERE r.asset_id = a.id), '[]'),
		coalesce((SELECT json_agg(json_build_object('dag_id', r.dag_id, 'task_id', r.task_id, 'created_at', r.created_at) ORDER BY r.dag_id, r.task_id)
			FROM task_outlet_asset_reference r WHERE r.asset_id = a.id), '[]'),
		coalesce((SELECT json_agg(json_build_object('dag_id', r.dag_id, 'task_id', r.task_id, 'created_at', r.created_at) ORDER BY r.dag_id, r.task_id)
			FROM task_inlet_asset_reference r WHERE r.asset_id = a.id), '[]'),
		coalesce((SELECT json_agg(json_build_object('id', al.id, 'name', al.name, 'group', al.grp) ORDER BY al.name)
			FROM asset_alias_asset x JOIN asset_alias al ON al.id = x.alias_id WHERE x.asset_id = a.id), '[]')`+from+` ORDER BY `+order+
		fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), w.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list assets: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*AssetRow, error) {
		var a AssetRow
		var dags, tasks, readers []struct {
			DagID     string    `json:"dag_id"`
			TaskID    string    `json:"task_id"`
			CreatedAt time.Time `json:"created_at"`
		}
		if err := r.Scan(&a.ID, &a.URI, &a.Name, &a.Group, &a.Extra, &a.CreatedAt, &a.UpdatedAt, &a.LastEventID, &a.LastEventAt,
			&dags, &tasks, &readers, &a.Aliases); err != nil {
			return nil, err
		}
		for _, t := range readers {
			a.ConsumingTasks = append(a.ConsumingTasks, AssetTaskRef{DagID: t.DagID, TaskID: t.TaskID, CreatedAt: t.CreatedAt})
		}
		for _, d := range dags {
			a.ScheduledDags = append(a.ScheduledDags, AssetDagRef{DagID: d.DagID, CreatedAt: d.CreatedAt})
		}
		for _, t := range tasks {
			a.ProducingTasks = append(a.ProducingTasks, AssetTaskRef{DagID: t.DagID, TaskID: t.TaskID, CreatedAt: t.CreatedAt})
		}
		return &a, nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list assets: %w", err)
	}
	return out, total, nil
}

// AliasRow is an asset alias as the API lists it.
type AliasRow struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Group string `json:"group"`
}

// ListAliasesPage returns a page of asset aliases (one, with id; those
// whose name matches pattern) and how many match.
func ListAliasesPage(ctx context.Context, q DBTX, id *int64, pattern string, page Page) ([]AliasRow, int, error) {
	order, err := page.orderBy(map[string]string{"id": "id", "name": "name"}, "id")
	if err != nil {
		return nil, 0, err
	}
	w := &where{}
	if id != nil {
		w.add(`id = ?`, *id)
	}
	if pattern != "" {
		w.add(`name ILIKE ANY(?)`, likeTerms(pattern))
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM asset_alias WHERE `+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count asset aliases: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT id, name, grp FROM asset_alias WHERE `+w.sql()+` ORDER BY `+order+
		fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), w.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list asset aliases: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AliasRow, error) {
		var a AliasRow
		return a, r.Scan(&a.ID, &a.Name, &a.Group)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list asset aliases: %w", err)
	}
	return out, total, nil
}

// AssetEventRow is an asset event as the API lists it, with the runs it
// triggered.
type AssetEventRow struct {
	ID, AssetID                            int64
	URI, Name, Group                       string
	Extra                                  map[string]any
	SourceDagID, SourceTaskID, SourceRunID *string
	SourceMapIndex                         int
	Timestamp                              time.Time
	CreatedRuns                            []DagRun
}

// AssetEventFilter selects asset events; zero fields match everything.
type AssetEventFilter struct {
	ID, AssetID                            *int64
	SourceDagID, SourceTaskID, SourceRunID string
	SourceMapIndex                         *int
	NamePattern                            string
	TimeGTE, TimeLTE                       *time.Time
	ConsumedBy                             *int64 // the events this run consumed
	URI                                    string // the events of this asset
	AliasName                              string // the events named through this alias
}

// ListAssetEventsPage returns a page of asset events and how many match.
func ListAssetEventsPage(ctx context.Context, q DBTX, f AssetEventFilter, page Page) ([]*AssetEventRow, int, error) {
	order, err := page.orderBy(map[string]string{"id": "e.id", "timestamp": "e.timestamp", "source_dag_id": "e.source_dag_id",
		"source_task_id": "e.source_task_id", "source_run_id": "e.source_run_id", "source_map_index": "e.source_map_index",
		"asset_id": "e.asset_id"}, "e.id")
	if err != nil {
		return nil, 0, err
	}
	w := &where{}
	if f.ID != nil {
		w.add(`e.id = ?`, *f.ID)
	}
	if f.AssetID != nil {
		w.add(`e.asset_id = ?`, *f.AssetID)
	}
	for _, c := range []struct {
		col, v string
	}{{"e.source_dag_id", f.SourceDagID}, {"e.source_task_id", f.SourceTaskID}, {"e.source_run_id", f.SourceRunID}} {
		if c.v != "" {
			w.add(c.col+` = ?`, c.v)
		}
	}
	if f.SourceMapIndex != nil {
		w.add(`e.source_map_index = ?`, *f.SourceMapIndex)
	}
	if f.NamePattern != "" {
		w.add(`a.name ILIKE ANY(?)`, likeTerms(f.NamePattern))
	}
	if f.TimeGTE != nil {
		w.add(`e.timestamp >= ?`, *f.TimeGTE)
	}
	if f.TimeLTE != nil {
		w.add(`e.timestamp <= ?`, *f.TimeLTE)
	}
	if f.ConsumedBy != nil {
		w.add(`EXISTS (SELECT 1 FROM dagrun_asset_event x WHERE x.event_id = e.id AND x.dag_run_id = ?)`, *f.ConsumedBy)
	}
	if f.URI != "" {
		w.add(`a.uri = ?`, f.URI)
	}
	if f.AliasName != "" {
		w.add(`EXISTS (SELECT 1 FROM asset_alias_asset_event x JOIN asset_alias al ON al.id = x.alias_id
			WHERE x.event_id = e.id AND al.name = ?)`, f.AliasName)
	}
	from := ` FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE ` + w.sql()
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*)`+from, w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count asset events: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT e.id, e.asset_id, a.uri, a.name, a.grp, e.extra, e.source_dag_id, e.source_task_id,
		e.source_run_id, e.source_map_index, e.timestamp,
		coalesce((SELECT array_agg(x.dag_run_id ORDER BY x.dag_run_id) FROM dagrun_asset_event x WHERE x.event_id = e.id), '{}')`+from+
		` ORDER BY `+order+fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), w.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list asset events: %w", err)
	}
	runsOf := map[*AssetEventRow][]int64{}
	var all []int64
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*AssetEventRow, error) {
		var e AssetEventRow
		var ids []int64
		err := r.Scan(&e.ID, &e.AssetID, &e.URI, &e.Name, &e.Group, &e.Extra, &e.SourceDagID, &e.SourceTaskID, &e.SourceRunID,
			&e.SourceMapIndex, &e.Timestamp, &ids)
		runsOf[&e] = ids
		all = append(all, ids...)
		return &e, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list asset events: %w", err)
	}
	if len(all) == 0 {
		return out, total, nil
	}
	// The runs the page's events created, in one query.
	rows, err = q.Query(ctx, `SELECT `+dagRunColumns+` FROM dag_run WHERE id = ANY($1)`, all)
	runs, err := collectDagRuns(rows, err)
	if err != nil {
		return nil, 0, fmt.Errorf("runs of asset events: %w", err)
	}
	byID := make(map[int64]*DagRun, len(runs))
	for _, r := range runs {
		byID[r.ID] = r
	}
	for e, ids := range runsOf {
		for _, id := range ids {
			if r := byID[id]; r != nil {
				e.CreatedRuns = append(e.CreatedRuns, *r)
			}
		}
	}
	return out, total, nil
}

// QueuedEvent is an asset queued for a DAG.
type QueuedEvent struct {
	DagID     string
	AssetID   int64
	CreatedAt time.Time
}

// ListQueuedEvents returns the queued assets of a DAG and/or for an asset
// ("" / nil: any).
func ListQueuedEvents(ctx context.Context, q DBTX, dagID string, assetID *int64) ([]QueuedEvent, error) {
	rows, err := q.Query(ctx, `SELECT target_dag_id, asset_id, created_at FROM asset_dag_run_queue
		WHERE ($1 = '' OR target_dag_id = $1) AND ($2::bigint IS NULL OR asset_id = $2) ORDER BY target_dag_id, asset_id`, dagID, assetID)
	if err != nil {
		return nil, fmt.Errorf("queued asset events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (QueuedEvent, error) {
		var x QueuedEvent
		return x, r.Scan(&x.DagID, &x.AssetID, &x.CreatedAt)
	})
	if err != nil {
		return nil, fmt.Errorf("queued asset events: %w", err)
	}
	return out, nil
}

// DeleteQueuedEvents removes queued assets of a DAG and/or for an asset,
// returning how many.
func DeleteQueuedEvents(ctx context.Context, q DBTX, dagID string, assetID *int64) (int64, error) {
	tag, err := q.Exec(ctx, `DELETE FROM asset_dag_run_queue WHERE ($1 = '' OR target_dag_id = $1) AND ($2::bigint IS NULL OR asset_id = $2)`,
		dagID, assetID)
	if err != nil {
		return 0, fmt.Errorf("delete queued asset events: %w", err)
	}
	return tag.RowsAffected(), nil
}
