package apiserver

import (
	"errors"
	"github.com/gust-sched/gust/common/dagspec"
	"math"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

// Assets: what tasks update and DAGs are scheduled on, their events (those
// successful tries recorded, and those created here), and the events
// queued for each DAG they schedule.
func (s *Server) routesAssets(r *router) {
	r.handle("GET /api/v2/assets", auth.Viewer, s.getAssets)
	r.handle("GET /api/v2/assets/{asset_id}", auth.Viewer, s.getAsset)
	r.handle("GET /api/v2/assets/events", auth.Viewer, s.getAssetEvents)
	r.handle("GET /api/v2/assets/aliases", auth.Viewer, s.getAliases)
	r.handle("GET /api/v2/assets/aliases/{asset_alias_id}", auth.Viewer, s.getAlias)
	r.handle("POST /api/v2/assets/events", auth.User, s.postAssetEvent)
	// GET /assets/{asset_id}/queuedEvents would overlap GET
	// /assets/aliases/{asset_alias_id} in ServeMux: a pattern both match
	// serves it, and the aliases' (more specific) wins for theirs.
	r.handle("GET /api/v2/assets/{asset_id}/{what}", auth.Viewer, s.getAssetSub)
	r.handle("DELETE /api/v2/assets/{asset_id}/queuedEvents", auth.User, s.deleteQueued("asset"))
	r.handle("GET /api/v2/dags/{dag_id}/assets/queuedEvents", auth.Viewer, s.getQueued("dag"))
	r.handle("DELETE /api/v2/dags/{dag_id}/assets/queuedEvents", auth.User, s.deleteQueued("dag"))
	r.handle("GET /api/v2/dags/{dag_id}/assets/{asset_id}/queuedEvents", auth.Viewer, s.getQueued("both"))
	r.handle("DELETE /api/v2/dags/{dag_id}/assets/{asset_id}/queuedEvents", auth.User, s.deleteQueued("both"))
	r.handle("GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/upstreamAssetEvents", auth.Viewer, s.getUpstreamAssetEvents)
}

type assetRef struct {
	DagID     string    `json:"dag_id"`
	TaskID    string    `json:"task_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type lastAssetEvent struct {
	ID        *int64     `json:"id"`
	Timestamp *time.Time `json:"timestamp"`
}

type assetResponse struct {
	ID             int64             `json:"id"`
	Name           string            `json:"name"`
	URI            string            `json:"uri"`
	Group          string            `json:"group"`
	Extra          map[string]any    `json:"extra"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	ScheduledDags  []assetRef        `json:"scheduled_dags"`
	ProducingTasks []assetRef        `json:"producing_tasks"`
	ConsumingTasks []assetRef        `json:"consuming_tasks"`
	Aliases        []metadb.AliasRow `json:"aliases"`
	Watchers       []any             `json:"watchers"`
	LastAssetEvent *lastAssetEvent   `json:"last_asset_event"`
}

func assetJSON(a *metadb.AssetRow) assetResponse {
	out := assetResponse{ID: a.ID, Name: a.Name, URI: a.URI, Group: a.Group, Extra: a.Extra, CreatedAt: a.CreatedAt.UTC(),
		UpdatedAt: a.UpdatedAt.UTC(), ScheduledDags: []assetRef{}, ProducingTasks: []assetRef{}, ConsumingTasks: []assetRef{},
		Aliases: []metadb.AliasRow{}, Watchers: []any{}}
	if a.Aliases != nil {
		out.Aliases = a.Aliases
	}
	for _, t := range a.ConsumingTasks {
		out.ConsumingTasks = append(out.ConsumingTasks, assetRef{DagID: t.DagID, TaskID: t.TaskID, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.CreatedAt.UTC()})
	}
	for _, d := range a.ScheduledDags {
		out.ScheduledDags = append(out.ScheduledDags, assetRef{DagID: d.DagID, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.CreatedAt.UTC()})
	}
	for _, t := range a.ProducingTasks {
		out.ProducingTasks = append(out.ProducingTasks, assetRef{DagID: t.DagID, TaskID: t.TaskID, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.CreatedAt.UTC()})
	}
	if a.LastEventID != nil {
		out.LastAssetEvent = &lastAssetEvent{ID: a.LastEventID, Timestamp: utcp(a.LastEventAt)}
	}
	return out
}

func (s *Server) getAssets(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := metadb.AssetFilter{NamePattern: q.pattern("name_pattern"), URIPattern: q.pattern("uri_pattern"), DagIDs: q.list("dag_ids")}
	q.boolOr("only_active", true)
	page := q.page("id")
	if err := q.err(); err != nil {
		return err
	}
	rows, total, err := metadb.ListAssetsPage(r.Context(), s.db.Pool, f, page)
	if err != nil {
		return err
	}
	out := make([]assetResponse, 0, len(rows))
	for _, a := range rows {
		out = append(out, assetJSON(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"assets": out, "total_entries": total})
	return nil
}

func (s *Server) loadAsset(r *http.Request, id int64) (*metadb.AssetRow, error) {
	rows, _, err := metadb.ListAssetsPage(r.Context(), s.db.Pool, metadb.AssetFilter{ID: &id}, metadb.Page{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errorf(http.StatusNotFound, "The Asset with ID: `%d` was not found", id)
	}
	return rows[0], nil
}

func (s *Server) getAsset(w http.ResponseWriter, r *http.Request) error {
	id, err := intPathValue(r, "asset_id")
	if err != nil {
		return err
	}
	a, err := s.loadAsset(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, assetJSON(a))
	return nil
}

type dagRunAssetRef struct {
	RunID             string     `json:"run_id"`
	DagID             string     `json:"dag_id"`
	LogicalDate       *time.Time `json:"logical_date"`
	StartDate         *time.Time `json:"start_date"`
	EndDate           *time.Time `json:"end_date"`
	State             string     `json:"state"`
	DataIntervalStart *time.Time `json:"data_interval_start"`
	DataIntervalEnd   *time.Time `json:"data_interval_end"`
	PartitionKey      *string    `json:"partition_key"`
}

type assetEventResponse struct {
	ID             int64            `json:"id"`
	AssetID        int64            `json:"asset_id"`
	URI            string           `json:"uri"`
	Name           string           `json:"name"`
	Group          string           `json:"group"`
	Extra          map[string]any   `json:"extra"`
	SourceTaskID   *string          `json:"source_task_id"`
	SourceDagID    *string          `json:"source_dag_id"`
	SourceRunID    *string          `json:"source_run_id"`
	SourceMapIndex int              `json:"source_map_index"`
	CreatedDagruns []dagRunAssetRef `json:"created_dagruns"`
	Timestamp      time.Time        `json:"timestamp"`
	PartitionKey   *string          `json:"partition_key"`
}

func assetEventJSON(e *metadb.AssetEventRow) assetEventResponse {
	out := assetEventResponse{ID: e.ID, AssetID: e.AssetID, URI: e.URI, Name: e.Name, Group: e.Group, Extra: e.Extra,
		SourceTaskID: e.SourceTaskID, SourceDagID: e.SourceDagID, SourceRunID: e.SourceRunID, SourceMapIndex: e.SourceMapIndex,
		CreatedDagruns: []dagRunAssetRef{}, Timestamp: e.Timestamp.UTC()}
	for _, run := range e.CreatedRuns {
		ld := run.LogicalDate.UTC()
		out.CreatedDagruns = append(out.CreatedDagruns, dagRunAssetRef{RunID: run.RunID, DagID: run.DagID, LogicalDate: &ld,
			StartDate: utcp(run.StartDate), EndDate: utcp(run.EndDate), State: run.State,
			DataIntervalStart: utcp(run.DataIntervalStart), DataIntervalEnd: utcp(run.DataIntervalEnd)})
	}
	return out
}

func (s *Server) writeAssetEvents(w http.ResponseWriter, r *http.Request, f metadb.AssetEventFilter, page metadb.Page) error {
	rows, total, err := metadb.ListAssetEventsPage(r.Context(), s.db.Pool, f, page)
	if err != nil {
		return err
	}
	out := make([]assetEventResponse, 0, len(rows))
	for _, e := range rows {
		out = append(out, assetEventJSON(e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"asset_events": out, "total_entries": total})
	return nil
}

func (s *Server) getAssetEvents(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := metadb.AssetEventFilter{SourceDagID: q.str("source_dag_id"), SourceTaskID: q.str("source_task_id"),
		SourceRunID: q.str("source_run_id"), SourceMapIndex: q.optInt("source_map_index"), NamePattern: q.pattern("name_pattern"),
		TimeGTE: lower(q.optTime("timestamp_gte"), q.optTime("timestamp_gt")), TimeLTE: upper(q.optTime("timestamp_lte"), q.optTime("timestamp_lt"))}
	if id := q.optInt("asset_id"); id != nil {
		v := int64(*id)
		f.AssetID = &v
	}
	page := q.page("timestamp")
	if err := q.err(); err != nil {
		return err
	}
	return s.writeAssetEvents(w, r, f, page)
}

// postAssetEvent records an event of an asset by hand (Airflow's "create
// asset event"), queued for the DAGs the asset schedules.
func (s *Server) postAssetEvent(w http.ResponseWriter, r *http.Request) error {
	o, err := readObject(r)
	if err != nil {
		return err
	}
	o.only("asset_id", "extra", "partition_key")
	id := o.integer("asset_id", required, math.MinInt)
	o.str("partition_key", nullable, 0)
	var extra map[string]any
	if b, ok := o.value("extra", optional); ok {
		if jsonKind(b) != '{' {
			o.fail("extra", "Input should be a valid dictionary", "dict_type", inputOf(b))
		} else {
			extra, _ = inputOf(b).(map[string]any)
		}
	}
	if err := o.err(); err != nil {
		return err
	}
	assetID := int64(*id)
	if _, err := s.loadAsset(r, assetID); err != nil {
		return errorf(http.StatusNotFound, "Asset with ID: `%d` was not found", assetID)
	}
	var eventID int64
	err = s.db.InTx(r.Context(), func(tx pgx.Tx) error {
		var err error
		eventID, err = metadb.CreateAssetEvent(r.Context(), tx, assetID, extra)
		if err != nil {
			return err
		}
		return metadb.NotifySchedule(r.Context(), tx)
	})
	if err != nil {
		return err
	}
	s.audit(r, "create_asset_event", metadb.Event{}, map[string]any{"asset_id": assetID, "extra": extra})
	rows, _, err := metadb.ListAssetEventsPage(r.Context(), s.db.Pool, metadb.AssetEventFilter{ID: &eventID}, metadb.Page{Limit: 1})
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return errors.New("the new asset event is gone")
	}
	writeJSON(w, http.StatusOK, assetEventJSON(rows[0]))
	return nil
}

func (s *Server) getUpstreamAssetEvents(w http.ResponseWriter, r *http.Request) error {
	run, err := s.loadRun(r.Context(), r.PathValue("dag_id"), r.PathValue("dag_run_id"))
	if err != nil {
		return err
	}
	return s.writeAssetEvents(w, r, metadb.AssetEventFilter{ConsumedBy: &run.ID}, metadb.Page{Limit: math.MaxInt32})
}

type queuedEventResponse struct {
	DagID          string    `json:"dag_id"`
	DagDisplayName string    `json:"dag_display_name"`
	AssetID        int64     `json:"asset_id"`
	CreatedAt      time.Time `json:"created_at"`
}

// queuedKeys reads the DAG and asset a queued-events path names.
func queuedKeys(r *http.Request, by string) (string, *int64, error) {
	var dagID string
	var assetID *int64
	if by == "dag" || by == "both" {
		dagID = r.PathValue("dag_id")
	}
	if by == "asset" || by == "both" {
		id, err := intPathValue(r, "asset_id")
		if err != nil {
			return "", nil, err
		}
		assetID = &id
	}
	return dagID, assetID, nil
}

func (s *Server) getQueued(by string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		dagID, assetID, err := queuedKeys(r, by)
		if err != nil {
			return err
		}
		if dagID != "" {
			if err := s.checkDag(r.Context(), dagID); err != nil {
				return err
			}
		}
		evs, err := metadb.ListQueuedEvents(r.Context(), s.db.Pool, dagID, assetID)
		if err != nil {
			return err
		}
		if by == "both" {
			if len(evs) == 0 {
				return errorf(http.StatusNotFound, "Queued event with dag_id: `%s` and asset_id: `%d` was not found", dagID, *assetID)
			}
			writeJSON(w, http.StatusOK, queuedEventResponse{DagID: evs[0].DagID, DagDisplayName: evs[0].DagID, AssetID: evs[0].AssetID,
				CreatedAt: evs[0].CreatedAt.UTC()})
			return nil
		}
		out := make([]queuedEventResponse, 0, len(evs))
		for _, e := range evs {
			out = append(out, queuedEventResponse{DagID: e.DagID, DagDisplayName: e.DagID, AssetID: e.AssetID, CreatedAt: e.CreatedAt.UTC()})
		}
		writeJSON(w, http.StatusOK, map[string]any{"queued_events": out, "total_entries": len(out)})
		return nil
	}
}

func (s *Server) deleteQueued(by string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		dagID, assetID, err := queuedKeys(r, by)
		if err != nil {
			return err
		}
		n, err := metadb.DeleteQueuedEvents(r.Context(), s.db.Pool, dagID, assetID)
		if err != nil {
			return err
		}
		if n == 0 {
			switch by {
			case "dag":
				return errorf(http.StatusNotFound, "Queue event with dag_id: `%s` was not found", dagID)
			case "asset":
				return errorf(http.StatusNotFound, "Queue event with asset_id: `%d` was not found", *assetID)
			default:
				return errorf(http.StatusNotFound, "Queued event with dag_id: `%s` and asset_id: `%d` was not found", dagID, *assetID)
			}
		}
		ev := metadb.Event{}
		if dagID != "" {
			ev.DagID = &dagID
		}
		s.audit(r, "delete_queued_asset_events", ev, map[string]any{"asset_id": assetID})
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) getAssetSub(w http.ResponseWriter, r *http.Request) error {
	if r.PathValue("what") != "queuedEvents" {
		return errorf(http.StatusNotFound, "Not Found")
	}
	return s.getQueued("asset")(w, r)
}

// getAliases lists asset aliases (GET /assets/aliases).
func (s *Server) getAliases(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	pattern, page := q.pattern("name_pattern"), q.page("id")
	if err := q.err(); err != nil {
		return err
	}
	rows, total, err := metadb.ListAliasesPage(r.Context(), s.db.Pool, nil, pattern, page)
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []metadb.AliasRow{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"asset_aliases": rows, "total_entries": total})
	return nil
}

// getAlias serves one alias (GET /assets/aliases/{asset_alias_id}).
func (s *Server) getAlias(w http.ResponseWriter, r *http.Request) error {
	id, err := intPathValue(r, "asset_alias_id")
	if err != nil {
		return err
	}
	rows, _, err := metadb.ListAliasesPage(r.Context(), s.db.Pool, &id, "", metadb.Page{Limit: 1})
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return errorf(http.StatusNotFound, "The Asset Alias with ID: `%d` was not found", id)
	}
	writeJSON(w, http.StatusOK, rows[0])
	return nil
}

// assetExpression is an asset schedule as Airflow's DAG details give it:
// {"asset": {...}}, {"alias": {...}}, {"all": [...]}, {"any": [...]}.
func assetExpression(c *dagspec.AssetCond) map[string]any {
	list := func(cs []dagspec.AssetCond) []any {
		out := make([]any, len(cs))
		for i := range cs {
			out[i] = assetExpression(&cs[i])
		}
		return out
	}
	switch {
	case c.Asset != nil:
		return map[string]any{"asset": map[string]any{"uri": c.Asset.URI, "name": c.Asset.Name, "group": c.Asset.Group}}
	case c.Alias != nil:
		return map[string]any{"alias": map[string]any{"name": c.Alias.Name, "group": c.Alias.Group}}
	case c.All != nil:
		return map[string]any{"all": list(c.All)}
	}
	return map[string]any{"any": list(c.Any)}
}
