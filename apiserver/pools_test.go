package apiserver

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gust-sched/gust/auth"
)

func TestPools(t *testing.T) {
	e := setup(t)

	var list poolCollection
	e.call(auth.Viewer, "GET", "/api/v2/pools", nil).want(t, 200).decode(t, &list)
	if list.TotalEntries != 1 || len(list.Pools) != 1 || list.Pools[0].Name != "default_pool" {
		t.Fatalf("pools = %+v", list)
	}

	// Create; a second create of the name is a conflict.
	var p poolResponse
	e.call(auth.Op, "POST", "/api/v2/pools", map[string]any{"name": "etl", "slots": 3, "description": "ETL jobs"}).
		want(t, 201).decode(t, &p)
	if p.Name != "etl" || p.Slots != 3 || p.Description == nil || *p.Description != "ETL jobs" || p.IncludeDeferred || p.OpenSlots != 3 {
		t.Errorf("created %+v", p)
	}
	if r := e.call(auth.Op, "POST", "/api/v2/pools", map[string]any{"name": "etl", "slots": 1}).want(t, 409); !strings.Contains(detail(t, r), "etl") {
		t.Errorf("409 detail: %s", r.body)
	}

	// Bodies are checked as Airflow's pydantic models check them.
	for _, c := range []struct {
		body any
		loc  string
	}{
		{`{"name": "x", `, "body.14"},
		{map[string]any{"name": "x"}, "body.slots"},
		{map[string]any{"name": "x", "slots": -2}, "body.slots"},
		{map[string]any{"name": "x", "slots": 1.5}, "body.slots"},
		{map[string]any{"name": "x", "slots": "many"}, "body.slots"},
		{map[string]any{"name": "x", "slots": 1, "colour": "red"}, "body.colour"},
		{map[string]any{"name": strings.Repeat("x", 257), "slots": 1}, "body.name"},
		{map[string]any{"name": "x", "slots": 1, "include_deferred": "yes"}, "body.include_deferred"},
		{map[string]any{"name": "x", "slots": 1, "team_name": "a"}, "body"},
	} {
		r := e.call(auth.Op, "POST", "/api/v2/pools", c.body).want(t, 422)
		if locs := issueLocs(t, r); len(locs) != 1 || locs[0] != c.loc {
			t.Errorf("POST %v: issues at %v, want %s", c.body, locs, c.loc)
		}
	}

	// Occupancy comes from the task instances in the pool.
	e.seedRun("d", "r1", "/dags/d.yaml")
	e.seedTI("d", "r1", "a", "running", "etl", 2)
	e.seedTI("d", "r1", "b", "queued", "etl", 1)
	e.seedTI("d", "r1", "c", "scheduled", "etl", 1)
	e.seedTI("d", "r1", "f", "deferred", "etl", 1)
	e.seedTI("d", "r1", "g", "success", "etl", 1)
	e.call(auth.Viewer, "GET", "/api/v2/pools/etl", nil).want(t, 200).decode(t, &p)
	if p.RunningSlots != 2 || p.QueuedSlots != 1 || p.ScheduledSlots != 1 || p.DeferredSlots != 1 || p.OccupiedSlots != 3 || p.OpenSlots != 0 {
		t.Errorf("occupancy %+v", p)
	}

	// PATCH: the given fields, or those of update_mask; deferred tasks count
	// once the pool includes them.
	e.call(auth.Op, "PATCH", "/api/v2/pools/etl", map[string]any{"include_deferred": true}).want(t, 200).decode(t, &p)
	if !p.IncludeDeferred || p.OccupiedSlots != 4 || p.OpenSlots != -1 || p.Slots != 3 || *p.Description != "ETL jobs" {
		t.Errorf("patched %+v", p)
	}
	e.call(auth.Op, "PATCH", "/api/v2/pools/etl?update_mask=slots", map[string]any{"slots": 10, "description": "ignored"}).
		want(t, 200).decode(t, &p)
	if p.Slots != 10 || *p.Description != "ETL jobs" || p.OpenSlots != 6 {
		t.Errorf("patched with a mask %+v", p)
	}
	e.call(auth.Op, "PATCH", "/api/v2/pools/etl", map[string]any{"description": nil}).want(t, 200).decode(t, &p)
	if p.Description != nil {
		t.Errorf("description not cleared: %+v", p)
	}
	e.call(auth.Op, "PATCH", "/api/v2/pools/etl", map[string]any{"pool": "other"}).want(t, 400)
	e.call(auth.Op, "PATCH", "/api/v2/pools/etl", map[string]any{"slots": nil}).want(t, 422)
	e.call(auth.Op, "PATCH", "/api/v2/pools/ghost", map[string]any{"slots": 1}).want(t, 404)

	// default_pool: only slots and include_deferred, by update_mask; never deleted.
	if r := e.call(auth.Op, "PATCH", "/api/v2/pools/default_pool", map[string]any{"slots": 5}).want(t, 400); !strings.Contains(detail(t, r), "Default Pool") {
		t.Errorf("default pool patch: %s", r.body)
	}
	e.call(auth.Op, "PATCH", "/api/v2/pools/default_pool?update_mask=slots", map[string]any{"slots": 5}).want(t, 200).decode(t, &p)
	if p.Slots != 5 {
		t.Errorf("default pool %+v", p)
	}
	if r := e.call(auth.Op, "DELETE", "/api/v2/pools/default_pool", nil).want(t, 400); detail(t, r) != "Default Pool can't be deleted" {
		t.Errorf("delete default pool: %s", r.body)
	}
	e.call(auth.Op, "DELETE", "/api/v2/pools/ghost", nil).want(t, 404)

	// Pages, order, patterns (SQL LIKE, case-insensitive, | for either).
	for _, n := range []string{"a1", "a2", "b1", "b2"} {
		e.call(auth.Op, "POST", "/api/v2/pools", map[string]any{"name": n, "slots": 1}).want(t, 201)
	}
	names := func(path string) ([]string, int) {
		t.Helper()
		var l poolCollection
		e.call(auth.Viewer, "GET", path, nil).want(t, 200).decode(t, &l)
		var out []string
		for _, p := range l.Pools {
			out = append(out, p.Name)
		}
		return out, l.TotalEntries
	}
	for _, c := range []struct {
		path  string
		want  []string
		total int
	}{
		{"/api/v2/pools", []string{"a1", "a2", "b1", "b2", "default_pool", "etl"}, 6},
		{"/api/v2/pools?order_by=-name&limit=2&offset=1", []string{"default_pool", "b2"}, 6},
		{"/api/v2/pools?pool_name_pattern=B", []string{"b1", "b2"}, 2},
		{"/api/v2/pools?pool_name_pattern=_1", []string{"a1", "b1"}, 2},
		{"/api/v2/pools?pool_name_pattern=a1%20|%20etl", []string{"a1", "etl"}, 2},
		{"/api/v2/pools?pool_name_pattern=~&limit=1", []string{"a1"}, 6},
		{"/api/v2/pools?limit=0", nil, 6},
	} {
		if got, total := names(c.path); !reflect.DeepEqual(got, c.want) || total != c.total {
			t.Errorf("%s: %v (%d), want %v (%d)", c.path, got, total, c.want, c.total)
		}
	}
	e.call(auth.Viewer, "GET", "/api/v2/pools?limit=-1", nil).want(t, 422)
	e.call(auth.Viewer, "GET", "/api/v2/pools?offset=x", nil).want(t, 422)
	// An unknown order_by is Airflow's 400 (which its spec does not list).
	if r := e.raw("GET", "/api/v2/pools?order_by=slots", "", "", e.tokens[auth.Viewer]); r.status != 400 {
		t.Errorf("order_by=slots: %d %s", r.status, r.body)
	}

	e.call(auth.Op, "DELETE", "/api/v2/pools/etl", nil).want(t, 204)
	e.call(auth.Viewer, "GET", "/api/v2/pools/etl", nil).want(t, 404)

	// Every write is in the audit log, by its operationId.
	e.wantAudit(t, "post_pool", 5, "op")
	e.wantAudit(t, "patch_pool", 4, "op")
	e.wantAudit(t, "delete_pool", 1, "op")
}

func TestBulkPools(t *testing.T) {
	e := setup(t)
	e.call(auth.Op, "POST", "/api/v2/pools", map[string]any{"name": "old", "slots": 1}).want(t, 201)

	bulk := func(actions ...map[string]any) bulkResponse {
		t.Helper()
		var out bulkResponse
		e.call(auth.Op, "PATCH", "/api/v2/pools", map[string]any{"actions": actions}).want(t, 200).decode(t, &out)
		return out
	}
	res := bulk(
		map[string]any{"action": "create", "entities": []any{
			map[string]any{"name": "new", "slots": 2}, map[string]any{"name": "old", "slots": 9}}},
		map[string]any{"action": "create", "action_on_existence": "skip", "entities": []any{
			map[string]any{"name": "new2", "slots": 2}, map[string]any{"name": "old", "slots": 9}}},
	)
	if res.Create == nil || !reflect.DeepEqual(res.Create.Success, []string{"new2"}) || len(res.Create.Errors) != 1 ||
		res.Create.Errors[0]["status_code"] != float64(409) || res.Update != nil || res.Delete != nil {
		t.Fatalf("bulk create: %+v", res.Create)
	}
	if msg := res.Create.Errors[0]["error"]; msg != "The pools with these pool names: {'old'} already exist." {
		t.Errorf("error %q", msg)
	}

	res = bulk(
		map[string]any{"action": "create", "action_on_existence": "overwrite", "entities": []any{
			map[string]any{"name": "old", "slots": 9, "description": "rewritten"}, map[string]any{"name": "new", "slots": 1}}},
		map[string]any{"action": "update", "update_mask": []string{"slots"}, "entities": []any{
			map[string]any{"name": "new2", "slots": 7, "description": "masked out"}}},
		map[string]any{"action": "update", "entities": []any{map[string]any{"name": "ghost", "slots": 1}}},
		map[string]any{"action": "update", "action_on_non_existence": "skip", "entities": []any{
			map[string]any{"name": "ghost", "slots": 1}, map[string]any{"name": "default_pool", "slots": 64}}},
		map[string]any{"action": "delete", "action_on_non_existence": "skip", "entities": []any{"new", map[string]any{"name": "ghost"}}},
		map[string]any{"action": "delete", "entities": []any{"ghost"}},
	)
	if !reflect.DeepEqual(res.Create.Success, []string{"old", "new"}) || len(res.Create.Errors) != 0 {
		t.Errorf("overwrite: %+v", res.Create)
	}
	// The update of new2 succeeds; ghost is missing (fail); default_pool
	// without a mask of its fields is refused.
	if !reflect.DeepEqual(res.Update.Success, []string{"new2"}) || len(res.Update.Errors) != 2 ||
		res.Update.Errors[0]["status_code"] != float64(404) || res.Update.Errors[1]["status_code"] != float64(400) {
		t.Errorf("update: %+v", res.Update)
	}
	if !reflect.DeepEqual(res.Delete.Success, []string{"new"}) || len(res.Delete.Errors) != 1 ||
		res.Delete.Errors[0]["error"] != "The pools with these pool names: {'ghost'} were not found." {
		t.Errorf("delete: %+v", res.Delete)
	}
	var p poolResponse
	e.call(auth.Viewer, "GET", "/api/v2/pools/old", nil).want(t, 200).decode(t, &p)
	if p.Slots != 9 || p.Description == nil || *p.Description != "rewritten" {
		t.Errorf("old = %+v", p)
	}
	e.call(auth.Viewer, "GET", "/api/v2/pools/new2", nil).want(t, 200).decode(t, &p)
	if p.Slots != 7 || p.Description != nil {
		t.Errorf("new2 = %+v", p)
	}
	e.call(auth.Viewer, "GET", "/api/v2/pools/new", nil).want(t, 404)

	// An invalid body is a 422 for the whole request, nothing done.
	for _, body := range []any{
		map[string]any{},
		map[string]any{"actions": []any{map[string]any{"action": "upsert", "entities": []any{}}}},
		map[string]any{"actions": []any{map[string]any{"action": "create", "entities": []any{map[string]any{"name": "x"}}}}},
		map[string]any{"actions": []any{map[string]any{"action": "create", "action_on_existence": "replace", "entities": []any{}}}},
		map[string]any{"actions": []any{map[string]any{"action": "delete", "entities": []any{3}}}},
	} {
		e.call(auth.Op, "PATCH", "/api/v2/pools", body).want(t, 422)
	}
	e.call(auth.User, "PATCH", "/api/v2/pools", map[string]any{"actions": []any{}}).want(t, 403)
	e.wantAudit(t, "bulk_pools", 2, "op")
}
