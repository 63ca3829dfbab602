package apiserver

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/metadb"
)

// readSecrets is the role that may read variables and connections. gust's
// roles let a Viewer read everything but the configuration, with secrets
// masked; Airflow's FAB roles show neither to Viewer and User (auth.Op
// here would do the same).
const readSecrets = auth.Viewer

func (s *Server) routesVariables(r *router) {
	r.handle("GET /api/v2/variables", readSecrets, s.getVariables)
	r.handle("POST /api/v2/variables", auth.Op, s.postVariable)
	r.handle("PATCH /api/v2/variables", auth.Op, s.bulkVariables)
	// Keys may hold slashes, as Airflow's {variable_key:path}.
	r.handle("GET /api/v2/variables/{variable_key...}", readSecrets, s.getVariable)
	r.handle("PATCH /api/v2/variables/{variable_key...}", auth.Op, s.patchVariable)
	r.handle("DELETE /api/v2/variables/{variable_key...}", auth.Op, s.deleteVariable)
}

// variableResponse is Airflow's VariableResponse. The value is in clear,
// except what Airflow's masker hides: the whole value of a variable whose
// key names a secret (api_key, password, ...), and the values under such
// keys in a JSON value (which comes back as Python's json.dumps writes it).
type variableResponse struct {
	Key         string  `json:"key"`
	Value       string  `json:"value"`
	Description *string `json:"description"`
	IsEncrypted bool    `json:"is_encrypted"`
	TeamName    *string `json:"team_name"`
}

type variableCollection struct {
	Variables    []variableResponse `json:"variables"`
	TotalEntries int                `json:"total_entries"`
}

func variableResp(v *metadb.Variable) variableResponse {
	return variableResponse{Key: v.Key, Value: redactText(v.Val, secrets.IsSensitiveName(v.Key)),
		Description: strp(v.Description), IsEncrypted: v.IsEncrypted}
}

func variableNotFound(key string) error {
	return errorf(http.StatusNotFound, "The Variable with key: `%s` was not found", key)
}

// variableFields are the fields of a VariableBody; value is the text to
// store: a JSON string's content, or any other JSON value as JSON text.
type variableFields struct {
	key         string
	value       string
	description *string
	given       map[string]bool
}

func parseVariableBody(o *object) variableFields {
	o.only("key", "value", "description", "team_name")
	f := variableFields{given: map[string]bool{"key": true, "value": true}}
	if k := o.str("key", required, 250); k != nil {
		f.key = *k
	}
	if b, ok := o.raw["value"]; !ok {
		o.fail("value", "Field required", "missing", nil)
	} else if jsonKind(b) == '"' {
		if v := o.str("value", required, 0); v != nil {
			f.value = *v
		}
	} else if v, err := compactJSON(b); err == nil {
		f.value = v
	} else {
		o.fail("value", "Input should be a valid JSON value", "json_type", inputOf(b))
	}
	f.description = o.str("description", nullable, 0)
	f.given["description"] = o.has("description")
	o.noTeam()
	return f
}

func (s *Server) getVariables(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	page := q.page("id")
	pattern := q.pattern("variable_key_pattern")
	if err := q.err(); err != nil {
		return err
	}
	vs, total, err := metadb.ListVariablesPage(r.Context(), s.db.Pool, s.kr, pattern, page)
	if err != nil {
		return err
	}
	out := variableCollection{Variables: make([]variableResponse, 0, len(vs)), TotalEntries: total}
	for i := range vs {
		out.Variables = append(out.Variables, variableResp(&vs[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getVariable(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("variable_key")
	v, err := metadb.GetVariable(r.Context(), s.db.Pool, s.kr, key)
	if errors.Is(err, metadb.ErrNotFound) {
		return variableNotFound(key)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, variableResp(v))
	return nil
}

func (s *Server) createVariable(ctx context.Context, q metadb.DBTX, f variableFields, overwrite bool) error {
	desc := ""
	if f.description != nil {
		desc = *f.description
	}
	if overwrite {
		return metadb.SetVariable(ctx, q, s.kr, f.key, f.value, desc)
	}
	err := metadb.CreateVariable(ctx, q, s.kr, f.key, f.value, desc)
	if errors.Is(err, metadb.ErrExists) {
		return errorf(http.StatusConflict, "The Variable with key: `%s` already exists", f.key)
	}
	return err
}

func (s *Server) postVariable(w http.ResponseWriter, r *http.Request) error {
	o, err := readObject(r)
	if err != nil {
		return err
	}
	f := parseVariableBody(o)
	if err := o.err(); err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.createVariable(ctx, s.db.Pool, f, false); err != nil {
		return err
	}
	s.audit(r, "post_variable", metadb.Event{}, map[string]any{"key": f.key})
	v, err := metadb.GetVariable(ctx, s.db.Pool, s.kr, f.key)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, variableResp(v))
	return nil
}

// updateVariable applies the given fields of f (those in mask, when there
// is one); the key cannot change.
func (s *Server) updateVariable(ctx context.Context, q metadb.DBTX, f variableFields, mask []string) error {
	if slices.Contains(mask, "key") {
		return errorf(http.StatusBadRequest, "Update not allowed: the following fields are immutable and cannot be modified: {'key'}")
	}
	use := func(field string) bool { return f.given[field] && (len(mask) == 0 || slices.Contains(mask, field)) }
	var val, desc *string
	if use("value") {
		val = &f.value
	}
	if use("description") {
		d := ""
		if f.description != nil {
			d = *f.description
		}
		desc = &d
	}
	err := metadb.UpdateVariable(ctx, q, s.kr, f.key, val, desc)
	if errors.Is(err, metadb.ErrNotFound) {
		return variableNotFound(f.key)
	}
	return err
}

func (s *Server) patchVariable(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("variable_key")
	q := newQuery(r)
	mask := q.list("update_mask")
	if err := q.err(); err != nil {
		return err
	}
	o, err := readObject(r)
	if err != nil {
		return err
	}
	f := parseVariableBody(o)
	if err := o.err(); err != nil {
		return err
	}
	if f.key != key {
		return errorf(http.StatusBadRequest, "Invalid body, key from request body doesn't match uri parameter")
	}
	if err := s.updateVariable(r.Context(), s.db.Pool, f, mask); err != nil {
		return err
	}
	s.audit(r, "patch_variable", metadb.Event{}, map[string]any{"key": key, "update_mask": mask})
	v, err := metadb.GetVariable(r.Context(), s.db.Pool, s.kr, key)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, variableResp(v))
	return nil
}

func (s *Server) deleteVariable(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("variable_key")
	if err := deleteVariable(r.Context(), s.db.Pool, key); err != nil {
		return err
	}
	s.audit(r, "delete_variable", metadb.Event{}, map[string]any{"key": key})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func deleteVariable(ctx context.Context, q metadb.DBTX, key string) error {
	err := metadb.DeleteVariable(ctx, q, key)
	if errors.Is(err, metadb.ErrNotFound) {
		return variableNotFound(key)
	}
	return err
}

func (s *Server) variableBulk() bulkKind[variableFields] {
	return bulkKind[variableFields]{
		plural: "variables", keyWords: "keys", keyFields: []string{"key"},
		parse: parseVariableBody, key: func(f variableFields) string { return f.key },
		exists: metadb.ExistingVariables, create: s.createVariable, update: s.updateVariable, delete: deleteVariable,
	}
}

func (s *Server) bulkVariables(w http.ResponseWriter, r *http.Request) error {
	k := s.variableBulk()
	actions, err := readBulk(r, k)
	if err != nil {
		return err
	}
	resp, err := runBulk(r.Context(), s.db, k, actions)
	if err != nil {
		return err
	}
	s.audit(r, "bulk_variables", metadb.Event{}, bulkSummary(k, actions))
	writeJSON(w, http.StatusOK, resp)
	return nil
}
