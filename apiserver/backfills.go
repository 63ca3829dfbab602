package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/scheduler"
)

func (s *Server) routesBackfills(r *router) {
	r.handle("GET /api/v2/backfills", auth.Viewer, s.listBackfills)
	r.handle("POST /api/v2/backfills", auth.User, s.createBackfill)
	r.handle("POST /api/v2/backfills/dry_run", auth.User, s.createBackfillDryRun)
	r.handle("GET /api/v2/backfills/{backfill_id}", auth.Viewer, s.getBackfill)
	r.handle("PUT /api/v2/backfills/{backfill_id}/pause", auth.User, s.pauseBackfill(true))
	r.handle("PUT /api/v2/backfills/{backfill_id}/unpause", auth.User, s.pauseBackfill(false))
	r.handle("PUT /api/v2/backfills/{backfill_id}/cancel", auth.User, s.cancelBackfill)
}

type backfillResponse struct {
	ID                int64          `json:"id"`
	DagID             string         `json:"dag_id"`
	FromDate          time.Time      `json:"from_date"`
	ToDate            time.Time      `json:"to_date"`
	DagRunConf        map[string]any `json:"dag_run_conf"`
	IsPaused          bool           `json:"is_paused"`
	ReprocessBehavior string         `json:"reprocess_behavior"`
	MaxActiveRuns     int            `json:"max_active_runs"`
	CreatedAt         time.Time      `json:"created_at"`
	CompletedAt       *time.Time     `json:"completed_at"`
	UpdatedAt         time.Time      `json:"updated_at"`
	DagDisplayName    string         `json:"dag_display_name"`
}

func backfillResp(b *metadb.Backfill) backfillResponse {
	conf := b.DagRunConf
	if conf == nil {
		conf = map[string]any{}
	}
	return backfillResponse{ID: b.ID, DagID: b.DagID, FromDate: b.FromDate.UTC(), ToDate: b.ToDate.UTC(), DagRunConf: conf,
		IsPaused: b.IsPaused, ReprocessBehavior: b.ReprocessBehavior, MaxActiveRuns: b.MaxActiveRuns,
		CreatedAt: b.CreatedAt.UTC(), CompletedAt: utcp(b.CompletedAt), UpdatedAt: b.UpdatedAt.UTC(), DagDisplayName: b.DagID}
}

func (s *Server) listBackfills(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	dagID := q.str("dag_id")
	page := q.page("id")
	if err := q.err(); err != nil {
		return err
	}
	bs, total, err := metadb.ListBackfills(r.Context(), s.db.Pool, dagID, page)
	if err != nil {
		return err
	}
	out := make([]backfillResponse, 0, len(bs))
	for _, b := range bs {
		out = append(out, backfillResp(b))
	}
	writeJSON(w, http.StatusOK, map[string]any{"backfills": out, "total_entries": total})
	return nil
}

// backfillBody is BackfillPostBody.
type backfillBody struct {
	DagID              string          `json:"dag_id"`
	FromDate           time.Time       `json:"from_date"`
	ToDate             time.Time       `json:"to_date"`
	RunBackwards       bool            `json:"run_backwards"`
	DagRunConf         json.RawMessage `json:"dag_run_conf"`
	ReprocessBehavior  *string         `json:"reprocess_behavior"`
	MaxActiveRuns      *int            `json:"max_active_runs"`
	RunOnLatestVersion *bool           `json:"run_on_latest_version"`
}

// backfillRequest reads and checks a backfill body.
func (s *Server) backfillRequest(r *http.Request, dryRun bool) (scheduler.BackfillRequest, error) {
	var b backfillBody
	if err := decodeBody(r, &b, "dag_id", "from_date", "to_date"); err != nil {
		return scheduler.BackfillRequest{}, err
	}
	reprocess := "none"
	if b.ReprocessBehavior != nil {
		reprocess = *b.ReprocessBehavior
	}
	switch reprocess {
	case "none", "failed", "completed":
	default:
		return scheduler.BackfillRequest{}, invalid("Input should be 'failed', 'completed' or 'none'", "enum", "body", "reprocess_behavior")
	}
	maxRuns := 10
	if b.MaxActiveRuns != nil {
		if *b.MaxActiveRuns < 1 {
			return scheduler.BackfillRequest{}, invalid("Input should be greater than or equal to 1", "greater_than_equal", "body", "max_active_runs")
		}
		maxRuns = *b.MaxActiveRuns
	}
	var conf map[string]any
	if len(b.DagRunConf) > 0 && string(b.DagRunConf) != "null" {
		if err := json.Unmarshal(b.DagRunConf, &conf); err != nil {
			return scheduler.BackfillRequest{}, invalid("Input should be a valid dictionary", "dict_type", "body", "dag_run_conf")
		}
	}
	if _, dag, err := s.loadDag(r.Context(), b.DagID); err != nil {
		return scheduler.BackfillRequest{}, err
	} else if err := dagspec.ValidateParams(dag.Params, conf); err != nil {
		return scheduler.BackfillRequest{}, errorf(http.StatusBadRequest, "backfill of %s: %v", b.DagID, err)
	}
	return scheduler.BackfillRequest{DagID: b.DagID, Start: b.FromDate, End: b.ToDate, DefaultQueue: s.opts.DefaultQueue,
		Reprocess: reprocess, DryRun: dryRun,
		Backfill: &metadb.Backfill{DagID: b.DagID, FromDate: b.FromDate, ToDate: b.ToDate, DagRunConf: conf,
			ReprocessBehavior: reprocess, MaxActiveRuns: maxRuns}}, nil
}

func backfillError(err error) error {
	switch {
	case errors.Is(err, metadb.ErrBackfillRunning):
		return errorf(http.StatusConflict, "There is already a running backfill for this Dag: %s", err.Error())
	case errors.Is(err, scheduler.ErrInvalidTrigger):
		return errorf(http.StatusBadRequest, "%s", err.Error())
	}
	return err
}

func (s *Server) createBackfill(w http.ResponseWriter, r *http.Request) error {
	req, err := s.backfillRequest(r, false)
	if err != nil {
		return err
	}
	if _, err := scheduler.Backfill(r.Context(), s.db, req); err != nil {
		return backfillError(err)
	}
	b, err := metadb.GetBackfill(r.Context(), s.db.Pool, req.Backfill.ID)
	if err != nil {
		return err
	}
	s.audit(r, "create_backfill", metadb.Event{DagID: &b.DagID}, map[string]any{"backfill_id": b.ID,
		"from_date": b.FromDate, "to_date": b.ToDate, "reprocess_behavior": b.ReprocessBehavior})
	writeJSON(w, http.StatusOK, backfillResp(b))
	return nil
}

type dryRunBackfill struct {
	LogicalDate   *time.Time `json:"logical_date"`
	PartitionDate *time.Time `json:"partition_date"`
	PartitionKey  *string    `json:"partition_key"`
}

func (s *Server) createBackfillDryRun(w http.ResponseWriter, r *http.Request) error {
	req, err := s.backfillRequest(r, true)
	if err != nil {
		return err
	}
	res, err := scheduler.Backfill(r.Context(), s.db, req)
	if err != nil {
		return backfillError(err)
	}
	out := make([]dryRunBackfill, 0, len(res.Dates))
	for _, d := range res.Dates {
		d := d.UTC()
		out = append(out, dryRunBackfill{LogicalDate: &d})
	}
	writeJSON(w, http.StatusOK, map[string]any{"backfills": out, "total_entries": len(out)})
	return nil
}

func (s *Server) backfillByPath(ctx context.Context, r *http.Request) (*metadb.Backfill, error) {
	id, err := strconv.ParseInt(r.PathValue("backfill_id"), 10, 64)
	if err != nil {
		return nil, invalid("Input should be a valid integer, unable to parse string as an integer", "int_parsing", "path", "backfill_id")
	}
	b, err := metadb.GetBackfill(ctx, s.db.Pool, id)
	if errors.Is(err, metadb.ErrNotFound) {
		return nil, errorf(http.StatusNotFound, "Could not find the Backfill with id %d", id)
	}
	return b, err
}

func (s *Server) getBackfill(w http.ResponseWriter, r *http.Request) error {
	b, err := s.backfillByPath(r.Context(), r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, backfillResp(b))
	return nil
}

func (s *Server) pauseBackfill(paused bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		b, err := s.backfillByPath(ctx, r)
		if err != nil {
			return err
		}
		if err := metadb.SetBackfillPaused(ctx, s.db.Pool, b.ID, paused); errors.Is(err, metadb.ErrBackfillDone) {
			return errorf(http.StatusConflict, "Backfill is already completed.")
		} else if err != nil {
			return err
		}
		event := "unpause_backfill"
		if paused {
			event = "pause_backfill"
		} else if err := metadb.NotifySchedule(ctx, s.db.Pool); err != nil {
			return err
		}
		s.audit(r, event, metadb.Event{DagID: &b.DagID}, map[string]any{"backfill_id": b.ID})
		return s.getBackfill(w, r)
	}
}

func (s *Server) cancelBackfill(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	b, err := s.backfillByPath(ctx, r)
	if err != nil {
		return err
	}
	if err := s.db.InTx(ctx, func(tx pgx.Tx) error { return metadb.CancelBackfill(ctx, tx, b.ID) }); errors.Is(err, metadb.ErrBackfillDone) {
		return errorf(http.StatusConflict, "Backfill is already completed.")
	} else if err != nil {
		return err
	}
	s.audit(r, "cancel_backfill", metadb.Event{DagID: &b.DagID}, map[string]any{"backfill_id": b.ID})
	return s.getBackfill(w, r)
}
