package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gust-sched/gust/metadb"
)

// httpError is an error with the status and FastAPI body it answers with.
type httpError struct {
	status int
	detail any // a string, or []validationIssue for 422
}

func (e *httpError) Error() string { return fmt.Sprintf("%d: %v", e.status, e.detail) }

func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, detail: fmt.Sprintf(format, args...)}
}

// validationIssue is one entry of FastAPI's 422 body.
type validationIssue struct {
	Loc   []any  `json:"loc"`
	Msg   string `json:"msg"`
	Type  string `json:"type"`
	Input any    `json:"input,omitempty"`
}

// invalid is a 422 for one value at loc (e.g. "query", "limit").
func invalid(msg, typ string, loc ...any) error {
	return &httpError{status: http.StatusUnprocessableEntity, detail: []validationIssue{{Loc: loc, Msg: msg, Type: typ}}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeError(w, http.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, status int, detail any) {
	b, _ := json.Marshal(map[string]any{"detail": detail})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// fail answers err: its own status for an httpError, 404 for a missing
// object, 400 for a bad order_by, else a logged 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	switch {
	case errors.As(err, &he):
		writeError(w, he.status, he.detail)
	case errors.Is(err, metadb.ErrNotFound):
		writeError(w, http.StatusNotFound, notFoundDetail(err))
	case errors.Is(err, metadb.ErrBadOrder):
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), metadb.ErrBadOrder.Error()+": "))
	default:
		s.logger.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "Internal Server Error")
	}
}

// notFoundDetail words a metadb not-found error as Airflow does: "The X
// was not found".
func notFoundDetail(err error) string {
	msg := strings.TrimSuffix(err.Error(), ": "+metadb.ErrNotFound.Error())
	return msg + " was not found"
}

// maxBody bounds request bodies.
const maxBody = 8 << 20

// decodeBody reads a JSON object body into v, strictly: a body that is not
// JSON, of the wrong shape, or with unknown fields is a 422 in FastAPI's
// words. required lists fields that must be present.
func decodeBody(r *http.Request, v any, required ...string) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return invalid("could not read the request body", "value_error", "body")
	}
	if len(b) > maxBody {
		return errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", maxBody)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		if len(bytes.TrimSpace(b)) == 0 {
			return invalid("Field required", "missing", "body")
		}
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return invalid("JSON decode error", "json_invalid", "body", int(syn.Offset))
		}
		return invalid("Input should be a valid dictionary or object to extract fields from", "model_attributes_type", "body")
	}
	var issues []validationIssue
	for _, f := range required {
		if _, ok := raw[f]; !ok {
			issues = append(issues, validationIssue{Loc: []any{"body", f}, Msg: "Field required", Type: "missing"})
		}
	}
	if len(issues) > 0 {
		return &httpError{status: http.StatusUnprocessableEntity, detail: issues}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return invalid(fmt.Sprintf("Input should be a valid %s", pyType(te.Type.Kind().String())), te.Type.Kind().String()+"_type", "body", te.Field)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return invalid("Extra inputs are not permitted", "extra_forbidden", "body", f)
		default:
			return invalid(err.Error(), "value_error", "body")
		}
	}
	return nil
}

// pyType names a Go kind as pydantic's messages name types.
func pyType(kind string) string {
	switch kind {
	case "int", "int64", "int32":
		return "integer"
	case "float64":
		return "number"
	case "bool":
		return "boolean"
	case "map", "struct":
		return "dictionary"
	case "slice":
		return "list"
	default:
		return kind
	}
}
