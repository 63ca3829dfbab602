package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/connection"
	"github.com/gust-sched/gust/metadb"
)

func (s *Server) routesConnections(r *router) {
	r.handle("GET /api/v2/connections", readSecrets, s.getConnections)
	r.handle("POST /api/v2/connections", auth.Op, s.postConnection)
	r.handle("PATCH /api/v2/connections", auth.Op, s.bulkConnections)
	r.handle("POST /api/v2/connections/test", auth.Op, s.testConnection)
	r.handle("POST /api/v2/connections/defaults", auth.Op, s.createDefaultConnections)
	r.handle("GET /api/v2/connections/{connection_id}", readSecrets, s.getConnection)
	r.handle("PATCH /api/v2/connections/{connection_id}", auth.Op, s.patchConnection)
	r.handle("DELETE /api/v2/connections/{connection_id}", auth.Op, s.deleteConnection)
}

// connectionResponse is Airflow's ConnectionResponse. Secrets never leave
// in clear, as Airflow's redact_password and redact_extra: a password is
// "***", and so is every string under a sensitive key of the extra (and
// the password wherever it appears in the extra's other strings). The
// extra comes back as Python's json.dumps writes it, as Airflow's does.
type connectionResponse struct {
	ConnectionID string  `json:"connection_id"`
	ConnType     string  `json:"conn_type"`
	Description  *string `json:"description"`
	Host         *string `json:"host"`
	Login        *string `json:"login"`
	Schema       *string `json:"schema"`
	Port         *int    `json:"port"`
	Password     *string `json:"password"`
	Extra        *string `json:"extra"`
	TeamName     *string `json:"team_name"`
}

type connectionCollection struct {
	Connections  []connectionResponse `json:"connections"`
	TotalEntries int                  `json:"total_entries"`
}

func connectionResp(c *connection.Connection) connectionResponse {
	out := connectionResponse{ConnectionID: c.ConnID, ConnType: c.ConnType, Description: strp(c.Description),
		Host: strp(c.Host), Login: strp(c.Login), Schema: strp(c.Schema)}
	if c.Port != 0 {
		port := c.Port
		out.Port = &port
	}
	if c.Password != "" {
		out.Password = strp(redacted)
	}
	if c.Extra != "" {
		out.Extra = strp(redactText(c.Extra, false, c.Password))
	}
	return out
}

func connectionNotFound(id string) error {
	return errorf(http.StatusNotFound, "The Connection with connection_id: `%s` was not found", id)
}

// connectionFields are the fields of a ConnectionBody, nil when not given
// or null; given holds the fields present.
type connectionFields struct {
	id, connType                                      string
	description, host, login, schema, password, extra *string
	port                                              *int
	given                                             map[string]bool
}

// connIDPattern is ConnectionBody's pattern ^[\w.-]+$ (\w as Unicode's,
// as pydantic's regex engine reads it).
var connIDPattern = regexp.MustCompile(`^[\p{L}\p{M}\p{Nd}\p{Pc}.-]+$`)

// connectionFieldNames are ConnectionBody's fields, for update masks.
var connectionFieldNames = []string{"conn_type", "description", "host", "login", "schema", "port", "password", "extra"}

func parseConnectionBody(o *object) connectionFields {
	o.only(append([]string{"connection_id", "team_name"}, connectionFieldNames...)...)
	f := connectionFields{given: map[string]bool{}}
	if id := o.str("connection_id", required, 200); id != nil {
		if connIDPattern.MatchString(*id) {
			f.id = *id
		} else {
			o.fail("connection_id", `String should match pattern '^[\w.-]+$'`, "string_pattern_mismatch", *id)
		}
	}
	if t := o.str("conn_type", required, 0); t != nil {
		if *t == "" {
			o.fail("conn_type", "String should have at least 1 character", "string_too_short", *t)
		}
		f.connType = *t
	}
	f.description = o.str("description", nullable, 0)
	f.host = o.str("host", nullable, 0)
	f.login = o.str("login", nullable, 0)
	f.schema = o.str("schema", nullable, 0)
	f.port = o.integer("port", nullable, math.MinInt)
	f.password = o.str("password", nullable, 0)
	if ex := o.str("extra", nullable, 0); ex != nil {
		f.extra = ex
		var m any
		switch {
		case *ex == "":
			f.extra = strp("{}") // Airflow's backward compatibility
		case json.Unmarshal([]byte(*ex), &m) != nil:
			o.fail("extra", "Value error, The `extra` field must be a valid JSON object (e.g., {'key': 'value'}), "+
				"but encountered non-JSON in `extra` field", "value_error", *ex)
		default:
			if _, ok := m.(map[string]any); !ok {
				o.fail("extra", "Value error, The `extra` field must be a valid JSON object (e.g., {'key': 'value'})", "value_error", *ex)
			}
		}
	}
	o.noTeam()
	for _, k := range connectionFieldNames {
		f.given[k] = o.has(k)
	}
	return f
}

func orZero[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// conn is the connection the fields describe, as created.
func (f connectionFields) conn() *connection.Connection {
	return &connection.Connection{ConnID: f.id, ConnType: f.connType, Description: orZero(f.description), Host: orZero(f.host),
		Login: orZero(f.login), Schema: orZero(f.schema), Port: orZero(f.port), Password: orZero(f.password), Extra: orZero(f.extra)}
}

// apply changes c as Airflow's update_orm_from_pydantic: the fields given
// (those in mask, when there is one); a password or extra in the mask is
// set even when not given (to none), and a "***" where a secret was masked
// keeps the secret, so that what a client read can be sent back.
func (f connectionFields) apply(c *connection.Connection, mask []string) {
	use := func(field string) bool { return f.given[field] && (len(mask) == 0 || slices.Contains(mask, field)) }
	if use("conn_type") {
		c.ConnType = f.connType
	}
	for _, p := range []struct {
		name string
		dst  *string
		src  *string
	}{{"description", &c.Description, f.description}, {"host", &c.Host, f.host}, {"login", &c.Login, f.login},
		{"schema", &c.Schema, f.schema}} {
		if use(p.name) {
			*p.dst = orZero(p.src)
		}
	}
	if use("port") {
		c.Port = orZero(f.port)
	}
	secretSet := func(field string) bool {
		return (len(mask) == 0 && f.given[field]) || slices.Contains(mask, field)
	}
	if secretSet("password") && !(f.password != nil && *f.password == redacted) {
		c.Password = orZero(f.password)
	}
	if secretSet("extra") {
		c.Extra = mergeExtra(orZero(f.extra), c.Extra)
	}
}

// mergeExtra is a new extra with the secrets it still masks taken from the
// old one (in json.dumps's form, as Airflow stores it then).
func mergeExtra(nw, old string) string {
	if nw == "" || old == "" {
		return nw
	}
	n, err1 := parseJSONTree(nw)
	o, err2 := parseJSONTree(old)
	if err1 != nil || err2 != nil {
		return nw
	}
	return mergeRedacted(n, o, false).pyDumps()
}

func (s *Server) getConnections(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	page := q.page("id")
	pattern := q.pattern("connection_id_pattern")
	if err := q.err(); err != nil {
		return err
	}
	cs, total, err := metadb.ListConnectionsPage(r.Context(), s.db.Pool, s.kr, pattern, page)
	if err != nil {
		return err
	}
	out := connectionCollection{Connections: make([]connectionResponse, 0, len(cs)), TotalEntries: total}
	for _, c := range cs {
		out.Connections = append(out.Connections, connectionResp(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getConnection(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("connection_id")
	c, err := metadb.GetConnection(r.Context(), s.db.Pool, s.kr, id, false)
	if errors.Is(err, metadb.ErrNotFound) {
		return connectionNotFound(id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, connectionResp(c))
	return nil
}

func (s *Server) createConnection(ctx context.Context, q metadb.DBTX, f connectionFields, overwrite bool) error {
	if overwrite {
		return metadb.PutConnection(ctx, q, s.kr, f.conn())
	}
	err := metadb.AddConnection(ctx, q, s.kr, f.conn())
	if errors.Is(err, metadb.ErrExists) {
		return errorf(http.StatusConflict, "The Connection with connection_id: `%s` already exists", f.id)
	}
	return err
}

func (s *Server) postConnection(w http.ResponseWriter, r *http.Request) error {
	o, err := readObject(r)
	if err != nil {
		return err
	}
	f := parseConnectionBody(o)
	if err := o.err(); err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.createConnection(ctx, s.db.Pool, f, false); err != nil {
		return err
	}
	s.audit(r, "post_connection", metadb.Event{}, map[string]any{"connection_id": f.id, "conn_type": f.connType})
	c, err := metadb.GetConnection(ctx, s.db.Pool, s.kr, f.id, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, connectionResp(c))
	return nil
}

// updateConnection applies f to the stored connection (q should be a
// transaction: the row stays locked from read to write).
func (s *Server) updateConnection(ctx context.Context, q metadb.DBTX, f connectionFields, mask []string) error {
	c, err := metadb.GetConnection(ctx, q, s.kr, f.id, true)
	if errors.Is(err, metadb.ErrNotFound) {
		return connectionNotFound(f.id)
	}
	if err != nil {
		return err
	}
	f.apply(c, mask)
	return metadb.UpdateConnection(ctx, q, s.kr, c)
}

func (s *Server) patchConnection(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("connection_id")
	q := newQuery(r)
	mask := q.list("update_mask")
	if err := q.err(); err != nil {
		return err
	}
	o, err := readObject(r)
	if err != nil {
		return err
	}
	f := parseConnectionBody(o)
	if err := o.err(); err != nil {
		return err
	}
	if f.id != id {
		return errorf(http.StatusBadRequest, "The connection_id in the request body does not match the URL parameter")
	}
	ctx := r.Context()
	if err := s.db.InTx(ctx, func(tx pgx.Tx) error { return s.updateConnection(ctx, tx, f, mask) }); err != nil {
		return err
	}
	s.audit(r, "patch_connection", metadb.Event{}, map[string]any{"connection_id": id, "update_mask": mask})
	c, err := metadb.GetConnection(ctx, s.db.Pool, s.kr, id, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, connectionResp(c))
	return nil
}

func deleteConnection(ctx context.Context, q metadb.DBTX, id string) error {
	err := metadb.DeleteConnection(ctx, q, id)
	if errors.Is(err, metadb.ErrNotFound) {
		return connectionNotFound(id)
	}
	return err
}

func (s *Server) deleteConnection(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("connection_id")
	if err := deleteConnection(r.Context(), s.db.Pool, id); err != nil {
		return err
	}
	s.audit(r, "delete_connection", metadb.Event{}, map[string]any{"connection_id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) connectionBulk() bulkKind[connectionFields] {
	return bulkKind[connectionFields]{
		plural: "connections", keyWords: "connection_ids", keyFields: []string{"connection_id"},
		parse: parseConnectionBody, key: func(f connectionFields) string { return f.id },
		exists: metadb.ExistingConnections, create: s.createConnection, update: s.updateConnection,
		delete: deleteConnection,
	}
}

func (s *Server) bulkConnections(w http.ResponseWriter, r *http.Request) error {
	k := s.connectionBulk()
	actions, err := readBulk(r, k)
	if err != nil {
		return err
	}
	resp, err := runBulk(r.Context(), s.db, k, actions)
	if err != nil {
		return err
	}
	s.audit(r, "bulk_connections", metadb.Event{}, bulkSummary(k, actions))
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// connectionTestResponse is Airflow's ConnectionTestResponse.
type connectionTestResponse struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
}

// testConnection tests a connection as described (merged into the stored
// one of that id, if any, as Airflow does), when [core] test_connection is
// Enabled. gust has no provider hooks: the test is that the host accepts a
// TCP connection on its port (the conn type's usual port when none is
// set); a connection without a host cannot be tested.
func (s *Server) testConnection(w http.ResponseWriter, r *http.Request) error {
	o, err := readObject(r)
	if err != nil {
		return err
	}
	f := parseConnectionBody(o)
	if err := o.err(); err != nil {
		return err
	}
	if !s.opts.TestConnection {
		return errorf(http.StatusForbidden, "Testing connections is disabled in Airflow configuration. "+
			"Contact your deployment admin to enable it.")
	}
	ctx := r.Context()
	c, err := metadb.GetConnection(ctx, s.db.Pool, s.kr, f.id, false)
	switch {
	case errors.Is(err, metadb.ErrNotFound):
		c = f.conn()
	case err != nil:
		return err
	default:
		f.apply(c, nil)
	}
	ok, msg := probeConnection(ctx, c)
	writeJSON(w, http.StatusOK, connectionTestResponse{Status: ok, Message: msg})
	return nil
}

// defaultPorts are the usual ports of connection types.
var defaultPorts = map[string]int{"http": 80, "https": 443, "postgres": 5432, "mysql": 3306, "redis": 6379,
	"amqp": 5672, "ftp": 21, "sftp": 22, "ssh": 22, "smtp": 25, "mssql": 1433, "mongo": 27017, "oracle": 1521}

// probeConnection opens (and closes) a TCP connection to c's host.
func probeConnection(ctx context.Context, c *connection.Connection) (bool, string) {
	host, port := c.Host, c.Port
	if strings.Contains(host, "://") { // an HTTP connection's host may be a URL
		if u, err := url.Parse(host); err == nil {
			host = u.Hostname()
			if p, err := strconv.Atoi(u.Port()); err == nil && port == 0 {
				port = p
			}
			if port == 0 {
				port = defaultPorts[u.Scheme]
			}
		}
	}
	if port == 0 {
		port = defaultPorts[c.ConnType]
	}
	switch {
	case host == "":
		return false, "gust tests a connection by reaching its host, and this connection has none"
	case port == 0:
		return false, "gust tests a connection by reaching its host's port, and connections of type " + c.ConnType + " have no usual port: set one"
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	if err != nil {
		return false, "Cannot reach " + addr + ": " + err.Error()
	}
	_ = conn.Close()
	return true, "Connection successfully tested (" + addr + " accepts TCP connections)"
}

// defaultConnections are the connections that POST /connections/defaults
// creates when they do not exist: Airflow's defaults for what gust runs
// (its HTTP operators and sensor, its file sensor). Airflow's other
// defaults name services whose operators gust does not have.
var defaultConnections = []connection.Connection{
	{ConnID: "http_default", ConnType: "http", Host: "https://www.httpbin.org/"},
	{ConnID: "fs_default", ConnType: "fs", Extra: `{"path": "/"}`},
}

func (s *Server) createDefaultConnections(w http.ResponseWriter, r *http.Request) error {
	var created []string
	for _, c := range defaultConnections {
		err := metadb.AddConnection(r.Context(), s.db.Pool, s.kr, &c)
		switch {
		case err == nil:
			created = append(created, c.ConnID)
		case !errors.Is(err, metadb.ErrExists):
			return err
		}
	}
	s.audit(r, "create_default_connections", metadb.Event{}, map[string]any{"created": created})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
