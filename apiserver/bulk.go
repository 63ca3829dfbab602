package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/metadb"
)

// Airflow's bulk PATCH (pools, variables, connections): a BulkBody of
// create, update and delete actions, each answered in a BulkResponse with
// the keys that succeeded and the errors met. An action that meets an
// error stops there, as Airflow's; the actions run in one transaction.

// bulkActionResult is Airflow's BulkActionResponse.
type bulkActionResult struct {
	Success []string         `json:"success"`
	Errors  []map[string]any `json:"errors"`
}

// bulkResponse is Airflow's BulkResponse: an action kind not requested is
// null.
type bulkResponse struct {
	Create *bulkActionResult `json:"create"`
	Update *bulkActionResult `json:"update"`
	Delete *bulkActionResult `json:"delete"`
}

// bulkAction is one action of a bulk request, its entities parsed.
type bulkAction[T any] struct {
	action     string // create, update or delete
	onExisting string // create: fail, skip or overwrite
	onMissing  string // update and delete: fail or skip
	entities   []T    // create and update
	keys       []string
	updateMask []string // update; nil: every field given
}

// bulkKind describes one resource's bulk operations.
type bulkKind[T any] struct {
	plural   string // "pools"
	keyWords string // "pool names"
	// keyFields name the key in a delete action's entity objects.
	keyFields []string
	// parse reads one create or update entity, adding issues to the object.
	parse  func(o *object) T
	key    func(T) string
	exists func(ctx context.Context, q metadb.DBTX, keys []string) (map[string]bool, error)
	// create creates an entity, or replaces an existing one (overwrite).
	create func(ctx context.Context, q metadb.DBTX, e T, overwrite bool) error
	update func(ctx context.Context, q metadb.DBTX, e T, mask []string) error
	delete func(ctx context.Context, q metadb.DBTX, key string) error
}

// readBulk reads a BulkBody, parsing every entity; any invalid part is a
// 422 for the whole request, as FastAPI validates the body first.
func readBulk[T any](r *http.Request, k bulkKind[T]) ([]bulkAction[T], error) {
	body, err := readObject(r)
	if err != nil {
		return nil, err
	}
	body.only("actions")
	var raws []json.RawMessage
	if b, ok := body.value("actions", required); ok {
		if jsonKind(b) != '[' || json.Unmarshal(b, &raws) != nil {
			body.fail("actions", "Input should be a valid list", "list_type", inputOf(b))
		}
	}
	var out []bulkAction[T]
	for i, raw := range raws {
		o, ok := body.subObject(raw, []any{"body", "actions", i})
		if !ok {
			continue
		}
		a := bulkAction[T]{action: o.oneOf("action", "", "create", "update", "delete")}
		if !o.has("action") {
			o.fail("action", "Field required", "missing", nil)
		}
		switch a.action {
		case "create":
			o.only("action", "entities", "action_on_existence")
			a.onExisting = o.oneOf("action_on_existence", "fail", "fail", "skip", "overwrite")
		case "update":
			o.only("action", "entities", "action_on_non_existence", "update_mask")
			a.onMissing = o.oneOf("action_on_non_existence", "fail", "fail", "skip")
			a.updateMask = o.strings("update_mask", nullable)
		case "delete":
			o.only("action", "entities", "action_on_non_existence")
			a.onMissing = o.oneOf("action_on_non_existence", "fail", "fail", "skip")
		}
		var ents []json.RawMessage
		if b, ok := o.value("entities", required); ok {
			if jsonKind(b) != '[' || json.Unmarshal(b, &ents) != nil {
				o.fail("entities", "Input should be a valid list", "list_type", inputOf(b))
			}
		}
		for j, e := range ents {
			loc := append(o.at("entities"), j)
			if a.action == "delete" {
				if key, ok := deleteKey(o, e, loc, k.keyFields); ok {
					a.keys = append(a.keys, key)
				}
				continue
			}
			eo, ok := o.subObject(e, loc)
			if !ok {
				continue
			}
			v := k.parse(eo)
			o.merge(eo)
			a.entities = append(a.entities, v)
		}
		body.merge(o)
		out = append(out, a)
	}
	if err := body.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// deleteKey reads a delete action's entity: a key, or an object holding
// it in one of fields.
func deleteKey(o *object, e json.RawMessage, loc []any, fields []string) (string, bool) {
	var s string
	if jsonKind(e) == '"' && json.Unmarshal(e, &s) == nil {
		return s, true
	}
	if jsonKind(e) != '{' {
		o.issues = append(o.issues, validationIssue{Loc: loc, Msg: "Input should be a valid string", Type: "string_type", Input: inputOf(e)})
		return "", false
	}
	eo, ok := o.subObject(e, loc)
	if !ok {
		return "", false
	}
	defer o.merge(eo)
	for _, f := range fields {
		if eo.has(f) {
			if v := eo.str(f, required, 0); v != nil {
				return *v, true
			}
			return "", false
		}
	}
	eo.fail(fields[0], "Field required", "missing", nil)
	return "", false
}

// runBulk performs the actions in one transaction.
func runBulk[T any](ctx context.Context, db *metadb.DB, k bulkKind[T], actions []bulkAction[T]) (*bulkResponse, error) {
	resp := &bulkResponse{}
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		*resp = bulkResponse{}
		for _, a := range actions {
			res := resp.result(a.action)
			keys := a.keys
			if a.action != "delete" {
				keys = make([]string, 0, len(a.entities))
				for _, e := range a.entities {
					keys = append(keys, k.key(e))
				}
			}
			found, err := k.exists(ctx, tx, keys)
			if err != nil {
				return err
			}
			var present, missing []string
			for _, key := range keys {
				if found[key] {
					present = append(present, key)
				} else {
					missing = append(missing, key)
				}
			}
			if err := k.run(ctx, tx, a, found, present, missing, res); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// run performs one action, recording what it did in res.
func (k bulkKind[T]) run(ctx context.Context, tx pgx.Tx, a bulkAction[T], found map[string]bool, present, missing []string, res *bulkActionResult) error {
	// step records one entity's outcome: an httpError is the action's
	// error (and ends it), any other error fails the request.
	step := func(key string, err error) (bool, error) {
		var he *httpError
		switch {
		case err == nil:
			res.Success = append(res.Success, key)
			return true, nil
		case errors.As(err, &he):
			res.Errors = append(res.Errors, map[string]any{"error": he.detail, "status_code": he.status})
			return false, nil
		default:
			return false, err
		}
	}
	switch a.action {
	case "create":
		if a.onExisting == "fail" && len(present) > 0 {
			_, err := step("", errorf(http.StatusConflict, "The %s with these %s: %s already exist.", k.plural, k.keyWords, pySet(present)))
			return err
		}
		for _, e := range a.entities {
			exists := found[k.key(e)]
			if exists && a.onExisting == "skip" {
				continue
			}
			if ok, err := step(k.key(e), k.create(ctx, tx, e, exists)); !ok {
				return err
			}
		}
	case "update":
		if a.onMissing == "fail" && len(missing) > 0 {
			_, err := step("", errorf(http.StatusNotFound, "The %s with these %s: %s were not found.", k.plural, k.keyWords, pySet(missing)))
			return err
		}
		for _, e := range a.entities {
			if !found[k.key(e)] {
				continue
			}
			if ok, err := step(k.key(e), k.update(ctx, tx, e, a.updateMask)); !ok {
				return err
			}
		}
	case "delete":
		if a.onMissing == "fail" && len(missing) > 0 {
			_, err := step("", errorf(http.StatusNotFound, "The %s with these %s: %s were not found.", k.plural, k.keyWords, pySet(missing)))
			return err
		}
		done := map[string]bool{}
		for _, key := range present {
			if done[key] {
				continue
			}
			done[key] = true
			if ok, err := step(key, k.delete(ctx, tx, key)); !ok {
				return err
			}
		}
	}
	return nil
}

// result returns the response part of an action kind, creating it.
func (b *bulkResponse) result(action string) *bulkActionResult {
	p := map[string]**bulkActionResult{"create": &b.Create, "update": &b.Update, "delete": &b.Delete}[action]
	if *p == nil {
		*p = &bulkActionResult{Success: []string{}, Errors: []map[string]any{}}
	}
	return *p
}

// bulkSummary is what the audit log keeps of a bulk request: the actions
// and the keys they named (never the values).
func bulkSummary[T any](k bulkKind[T], actions []bulkAction[T]) map[string]any {
	var out []map[string]any
	for _, a := range actions {
		keys := a.keys
		if a.action != "delete" {
			keys = nil
			for _, e := range a.entities {
				keys = append(keys, k.key(e))
			}
		}
		out = append(out, map[string]any{"action": a.action, "keys": keys})
	}
	return map[string]any{"actions": out}
}

// pySet writes keys as Python prints a set of strings (sorted here, where
// Python's order is arbitrary): {'a', 'b'}.
func pySet(keys []string) string {
	uniq := map[string]bool{}
	var ks []string
	for _, k := range keys {
		if !uniq[k] {
			uniq[k] = true
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	for i, k := range ks {
		ks[i] = pyRepr(k)
	}
	return "{" + strings.Join(ks, ", ") + "}"
}

// pyRepr writes a string as Python's repr does (for the common cases).
func pyRepr(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = `"`
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	if q == "'" {
		s = strings.ReplaceAll(s, "'", `\'`)
	}
	s = strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s)
	return q + s + q
}
