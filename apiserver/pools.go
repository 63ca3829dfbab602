package apiserver

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

func (s *Server) routesPools(r *router) {
	r.handle("GET /api/v2/pools", auth.Viewer, s.getPools)
	r.handle("POST /api/v2/pools", auth.Op, s.postPool)
	r.handle("PATCH /api/v2/pools", auth.Op, s.bulkPools)
	// Names may hold slashes, as Airflow's {pool_name:path}.
	r.handle("GET /api/v2/pools/{pool_name...}", auth.Viewer, s.getPool)
	r.handle("PATCH /api/v2/pools/{pool_name...}", auth.Op, s.patchPool)
	r.handle("DELETE /api/v2/pools/{pool_name...}", auth.Op, s.deletePool)
}

// poolResponse is Airflow's PoolResponse. gust has no teams.
type poolResponse struct {
	Name            string  `json:"name"`
	Slots           int     `json:"slots"`
	Description     *string `json:"description"`
	IncludeDeferred bool    `json:"include_deferred"`
	OccupiedSlots   int     `json:"occupied_slots"`
	RunningSlots    int     `json:"running_slots"`
	QueuedSlots     int     `json:"queued_slots"`
	ScheduledSlots  int     `json:"scheduled_slots"`
	OpenSlots       int     `json:"open_slots"`
	DeferredSlots   int     `json:"deferred_slots"`
	TeamName        *string `json:"team_name"`
}

type poolCollection struct {
	Pools        []poolResponse `json:"pools"`
	TotalEntries int            `json:"total_entries"`
}

func poolResp(p *metadb.Pool) poolResponse {
	return poolResponse{Name: p.Name, Slots: p.Slots, Description: strp(p.Description), IncludeDeferred: p.IncludeDeferred,
		OccupiedSlots: p.OccupiedSlots(), RunningSlots: p.RunningSlots, QueuedSlots: p.QueuedSlots,
		ScheduledSlots: p.ScheduledSlots, OpenSlots: p.OpenSlots(), DeferredSlots: p.DeferredSlots}
}

func poolNotFound(name string) error {
	return errorf(http.StatusNotFound, "The Pool with name: `%s` was not found", name)
}

// poolFields are the fields of a PoolBody or PoolPatchBody, nil when not
// given; given also holds the fields sent as null.
type poolFields struct {
	name            *string
	slots           *int
	description     *string
	includeDeferred *bool
	given           map[string]bool
}

func (f poolFields) key() string {
	if f.name == nil {
		return ""
	}
	return *f.name
}

// parsePoolBody reads a PoolBody (POST, bulk entities): name and slots
// are required. Airflow's "pool" is accepted for "name", as its model
// populates by field name too.
func parsePoolBody(o *object) poolFields {
	o.only("name", "pool", "slots", "description", "include_deferred", "team_name")
	f := poolFields{given: map[string]bool{}}
	nameField := "name"
	if !o.has("name") && o.has("pool") {
		nameField = "pool"
	}
	f.name = o.str(nameField, required, 256)
	f.slots = o.integer("slots", required, -1)
	f.description = o.str("description", nullable, 0)
	f.includeDeferred = o.boolean("include_deferred", optional)
	o.noTeam()
	for _, k := range []string{"slots", "description", "include_deferred"} {
		f.given[k] = o.has(k)
	}
	f.given["name"] = true
	return f
}

// parsePoolPatchBody reads a PoolPatchBody: every field optional.
func parsePoolPatchBody(o *object) poolFields {
	o.only("name", "pool", "slots", "description", "include_deferred", "team_name")
	f := poolFields{given: map[string]bool{}}
	nameField := "pool"
	if !o.has("pool") && o.has("name") {
		nameField = "name"
	}
	f.name = o.str(nameField, nullable, 0)
	f.slots = o.integer("slots", optional, -1)
	f.description = o.str("description", nullable, 0)
	f.includeDeferred = o.boolean("include_deferred", optional)
	o.noTeam()
	for _, k := range []string{"slots", "description", "include_deferred"} {
		f.given[k] = o.has(k)
	}
	return f
}

func (s *Server) getPools(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	page := q.page("id")
	pattern := q.pattern("pool_name_pattern")
	if err := q.err(); err != nil {
		return err
	}
	ps, total, err := metadb.ListPoolsPage(r.Context(), s.db.Pool, pattern, page)
	if err != nil {
		return err
	}
	out := poolCollection{Pools: make([]poolResponse, 0, len(ps)), TotalEntries: total}
	for _, p := range ps {
		out.Pools = append(out.Pools, poolResp(p))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getPool(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("pool_name")
	p, err := metadb.GetPool(r.Context(), s.db.Pool, name)
	if errors.Is(err, metadb.ErrNotFound) {
		return poolNotFound(name)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, poolResp(p))
	return nil
}

// createPool creates a pool from a PoolBody, or replaces an existing one.
func createPool(ctx context.Context, q metadb.DBTX, f poolFields, overwrite bool) error {
	desc := ""
	if f.description != nil {
		desc = *f.description
	}
	incl := f.includeDeferred != nil && *f.includeDeferred
	if overwrite {
		return metadb.SetPool(ctx, q, *f.name, *f.slots, desc, incl)
	}
	err := metadb.CreatePool(ctx, q, *f.name, *f.slots, desc, incl)
	if errors.Is(err, metadb.ErrExists) {
		return errorf(http.StatusConflict, "The Pool with name: `%s` already exists", *f.name)
	}
	return err
}

func (s *Server) postPool(w http.ResponseWriter, r *http.Request) error {
	o, err := readObject(r)
	if err != nil {
		return err
	}
	f := parsePoolBody(o)
	if err := o.err(); err != nil {
		return err
	}
	ctx := r.Context()
	if err := createPool(ctx, s.db.Pool, f, false); err != nil {
		return err
	}
	s.audit(r, "post_pool", metadb.Event{}, poolAudit(f))
	p, err := metadb.GetPool(ctx, s.db.Pool, *f.name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, poolResp(p))
	return nil
}

// updatePool applies the given fields of f (those in mask, when there is
// one) to a pool. default_pool's name and description stay, as Airflow's:
// it takes only a mask of slots and include_deferred.
func updatePool(ctx context.Context, q metadb.DBTX, name string, f poolFields, mask []string) error {
	for i := range mask {
		mask[i] = strings.TrimSpace(mask[i])
	}
	if name == metadb.DefaultPool {
		ok := len(mask) > 0
		for _, m := range mask {
			ok = ok && (m == "slots" || m == "include_deferred")
		}
		if !ok {
			return errorf(http.StatusBadRequest, "Only slots and included_deferred can be modified on Default Pool")
		}
	}
	use := func(field string) bool { return f.given[field] && (len(mask) == 0 || slices.Contains(mask, field)) }
	var u metadb.PoolUpdate
	if use("slots") {
		u.Slots = f.slots
	}
	if use("description") {
		desc := ""
		if f.description != nil {
			desc = *f.description
		}
		u.Description = &desc
	}
	if use("include_deferred") {
		u.IncludeDeferred = f.includeDeferred
	}
	err := metadb.UpdatePool(ctx, q, name, u)
	if errors.Is(err, metadb.ErrNotFound) {
		return poolNotFound(name)
	}
	return err
}

func (s *Server) patchPool(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("pool_name")
	q := newQuery(r)
	mask := q.list("update_mask")
	if err := q.err(); err != nil {
		return err
	}
	o, err := readObject(r)
	if err != nil {
		return err
	}
	f := parsePoolPatchBody(o)
	if err := o.err(); err != nil {
		return err
	}
	if f.name != nil && *f.name != "" && *f.name != name {
		return errorf(http.StatusBadRequest, "Invalid body, pool name from request body doesn't match uri parameter")
	}
	ctx := r.Context()
	if _, err := metadb.GetPool(ctx, s.db.Pool, name); errors.Is(err, metadb.ErrNotFound) {
		return poolNotFound(name)
	} else if err != nil {
		return err
	}
	if err := updatePool(ctx, s.db.Pool, name, f, mask); err != nil {
		return err
	}
	s.audit(r, "patch_pool", metadb.Event{}, map[string]any{"pool_name": name, "update_mask": mask, "body": poolAudit(f)})
	p, err := metadb.GetPool(ctx, s.db.Pool, name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, poolResp(p))
	return nil
}

func (s *Server) deletePool(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("pool_name")
	if err := deletePool(r.Context(), s.db.Pool, name); err != nil {
		return err
	}
	s.audit(r, "delete_pool", metadb.Event{}, map[string]any{"pool_name": name})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func deletePool(ctx context.Context, q metadb.DBTX, name string) error {
	if name == metadb.DefaultPool {
		return errorf(http.StatusBadRequest, "Default Pool can't be deleted")
	}
	err := metadb.DeletePool(ctx, q, name)
	if errors.Is(err, metadb.ErrNotFound) {
		return poolNotFound(name)
	}
	return err
}

var poolBulk = bulkKind[poolFields]{
	plural: "pools", keyWords: "pool names", keyFields: []string{"name", "pool"},
	parse: parsePoolBody, key: poolFields.key, exists: metadb.ExistingPools,
	create: createPool, update: func(ctx context.Context, q metadb.DBTX, f poolFields, mask []string) error {
		return updatePool(ctx, q, *f.name, f, mask)
	},
	delete: deletePool,
}

func (s *Server) bulkPools(w http.ResponseWriter, r *http.Request) error {
	actions, err := readBulk(r, poolBulk)
	if err != nil {
		return err
	}
	resp, err := runBulk(r.Context(), s.db, poolBulk, actions)
	if err != nil {
		return err
	}
	s.audit(r, "bulk_pools", metadb.Event{}, bulkSummary(poolBulk, actions))
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// poolAudit is what the audit log keeps of a pool body.
func poolAudit(f poolFields) map[string]any {
	out := map[string]any{}
	if f.name != nil {
		out["name"] = *f.name
	}
	if f.slots != nil {
		out["slots"] = *f.slots
	}
	if f.description != nil {
		out["description"] = *f.description
	}
	if f.includeDeferred != nil {
		out["include_deferred"] = *f.includeDeferred
	}
	return out
}
