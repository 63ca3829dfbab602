package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/internal/testenv"
	"github.com/gust-sched/gust/metadb"
)

// specValidator is Airflow 3's OpenAPI spec (shared/reference), loaded once.
var (
	specOnce sync.Once
	specV    validator.Validator
	specErr  error
)

func spec(t *testing.T) validator.Validator {
	t.Helper()
	specOnce.Do(func() {
		var b []byte
		b, specErr = os.ReadFile(filepath.Join("testdata", "airflow-rest-api-v2.yaml"))
		if specErr != nil {
			return
		}
		if b, specErr = nullableTo31(b); specErr != nil {
			return
		}
		var doc libopenapi.Document
		if doc, specErr = libopenapi.NewDocument(b); specErr != nil {
			return
		}
		var errs []error
		if specV, errs = validator.NewValidator(doc); len(errs) > 0 {
			specErr = errs[0]
		}
	})
	if specErr != nil {
		t.Fatalf("load the Airflow REST API spec: %v", specErr)
	}
	return specV
}

// nullableTo31 rewrites the spec's OpenAPI 3.0 `nullable: true` (which the
// file, declared 3.1, still uses in places; Airflow's client reads it as
// Optional) into 3.1's form, so that a 3.1 validator reads it as meant:
// a type gains "null", a $ref or enum becomes anyOf with {type: null}.
func nullableTo31(b []byte) ([]byte, error) {
	var root any
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, err
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				x[k] = walk(c)
			}
			if n, ok := x["nullable"].(bool); ok {
				delete(x, "nullable")
				if !n {
					return x
				}
				if t, ok := x["type"].(string); ok {
					x["type"] = []any{t, "null"}
					if en, ok := x["enum"].([]any); ok {
						x["enum"] = append(en, nil)
					}
					return x
				}
				if _, ok := x["$ref"]; ok {
					return map[string]any{"anyOf": []any{x, map[string]any{"type": "null"}}}
				}
			}
			return x
		case []any:
			for i, c := range x {
				x[i] = walk(c)
			}
		}
		return v
	}
	return yaml.Marshal(walk(root))
}

// env is an api-server on its own database, with one user per role.
type env struct {
	t      *testing.T
	db     *metadb.DB
	srv    *httptest.Server
	s      *Server
	tokens map[auth.Role]string
}

const testSecret = "test-secret-0123456789abcdef-0123456789"

func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := metadb.Open(ctx, testenv.Database(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx, 128); err != nil {
		t.Fatal(err)
	}
	key, _ := secrets.GenerateKey()
	kr, err := secrets.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Version: "9.9.9-test", JWTSecret: testSecret, JWTExpiration: time.Hour,
		DefaultQueue: "default", MaxActiveRunsPerDag: 16, MaxActiveTasksPerDag: 16}, db, kr, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, s: s, srv: httptest.NewServer(s.Handler()), tokens: map[auth.Role]string{}}
	t.Cleanup(e.srv.Close)
	for _, role := range []auth.Role{auth.Viewer, auth.User, auth.Op, auth.Admin} {
		name := strings.ToLower(role.String())
		e.createUser(name, name+"-pass", role)
		e.tokens[role] = e.login(name, name+"-pass")
	}
	return e
}

func (e *env) createUser(name, password string, role auth.Role) {
	e.t.Helper()
	// The lowest bcrypt cost keeps the suite fast; logins check any cost.
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		e.t.Fatal(err)
	}
	hash := string(h)
	if err := metadb.CreateUser(context.Background(), e.db.Pool, &metadb.User{Username: name, Role: role.String()}, hash); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) login(name, password string) string {
	e.t.Helper()
	resp := e.raw("POST", "/auth/token", "application/json", `{"username": "`+name+`", "password": "`+password+`"}`, "")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.status != http.StatusCreated || json.Unmarshal(resp.body, &tok) != nil || tok.AccessToken == "" {
		e.t.Fatalf("login %s: %d %s", name, resp.status, resp.body)
	}
	return tok.AccessToken
}

type response struct {
	status int
	body   []byte
	header http.Header
}

// decode unmarshals the body into v.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (e *env) raw(method, path, contentType, body, token string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: b, header: resp.Header}
}

// call sends a request as a user of role (body: nil, a string, or a value
// to encode as JSON) and checks the response against the spec: its status
// must be one the operation documents, and its body must match the schema
// of that status.
func (e *env) call(role auth.Role, method, path string, body any) response {
	e.t.Helper()
	var payload []byte
	switch b := body.(type) {
	case nil:
	case string:
		payload = []byte(b)
	default:
		var err error
		if payload, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(payload))
	if err != nil {
		e.t.Fatal(err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	e.validate(req, resp, b)
	return response{status: resp.StatusCode, body: b, header: resp.Header}
}

// validate checks one exchange against the spec.
func (e *env) validate(req *http.Request, resp *http.Response, body []byte) {
	e.t.Helper()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	vreq, _ := http.NewRequest(req.Method, req.URL.String(), nil)
	vreq.Header = req.Header
	if ok, errs := spec(e.t).ValidateHttpResponse(vreq, resp); !ok {
		for _, ve := range errs {
			detail := ve.Reason
			for _, se := range ve.SchemaValidationErrors {
				detail += "; " + se.FieldPath + ": " + se.Reason
			}
			e.t.Errorf("%s %s -> %d does not match the spec: %s: %s\nbody: %.600s", req.Method, req.URL.Path, resp.StatusCode, ve.Message, detail, body)
		}
	}
}

// want fails the test unless the response has the status.
func (r response) want(t *testing.T, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}
