package metadb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/common/connection"
	"github.com/gust-sched/gust/common/secrets"
)

// Variables, connections and XComs: what tasks see and share. Secrets are
// sealed with the keyring before they reach the database.

// Variable is one variable with its value in clear.
type Variable struct {
	Key         string `json:"key"`
	Val         string `json:"val"`
	Description string `json:"description"`
	IsEncrypted bool   `json:"is_encrypted"`
}

// SetVariable creates or replaces a variable.
func SetVariable(ctx context.Context, q DBTX, kr *secrets.Keyring, key, val, description string) error {
	if key == "" {
		return errors.New("variable key must not be empty")
	}
	stored, err := kr.Encrypt(val)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `INSERT INTO variable (key, val, description, is_encrypted) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key) DO UPDATE SET val = EXCLUDED.val, description = EXCLUDED.description, is_encrypted = EXCLUDED.is_encrypted`,
		key, stored, description, kr.Enabled())
	if err != nil {
		return fmt.Errorf("set variable %s: %w", key, err)
	}
	return nil
}

// ListVariables returns every variable, decrypted, by key.
func ListVariables(ctx context.Context, q DBTX, kr *secrets.Keyring) ([]Variable, error) {
	rows, err := q.Query(ctx, `SELECT key, val, description, is_encrypted FROM variable ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("list variables: %w", err)
	}
	vs, err := scanVariables(rows, kr)
	if err != nil {
		return nil, fmt.Errorf("list variables: %w", err)
	}
	return vs, nil
}

func scanVariables(rows pgx.Rows, kr *secrets.Keyring) ([]Variable, error) {
	vs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Variable, error) {
		var v Variable
		err := r.Scan(&v.Key, &v.Val, &v.Description, &v.IsEncrypted)
		return v, err
	})
	if err != nil {
		return nil, err
	}
	for i := range vs {
		if vs[i].IsEncrypted {
			if vs[i].Val, err = kr.Decrypt(vs[i].Val); err != nil {
				return nil, fmt.Errorf("variable %s: %w", vs[i].Key, err)
			}
		}
	}
	return vs, nil
}

// variableOrder maps the API's order_by names to columns. gust's variables
// have no numeric id (Airflow's default order "id" is by key here) and no
// team; _val orders by the stored, possibly encrypted, value, as Airflow.
var variableOrder = map[string]string{"key": "key", "id": "key", "_val": "val", "description": "description",
	"is_encrypted": "is_encrypted", "team_name": "NULL::text"}

// ListVariablesPage returns a page of the variables whose key matches
// pattern (an API *_pattern, see likeTerms), decrypted, and how many match.
func ListVariablesPage(ctx context.Context, q DBTX, kr *secrets.Keyring, pattern string, page Page) ([]Variable, int, error) {
	order, err := page.orderBy(variableOrder, "key")
	if err != nil {
		return nil, 0, err
	}
	const where = `(cardinality($1::text[]) = 0 OR key ILIKE ANY($1))`
	terms := likeTerms(pattern)
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM variable WHERE `+where, terms).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count variables: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT key, val, description, is_encrypted FROM variable WHERE `+where+` ORDER BY `+order+
		fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), terms)
	if err != nil {
		return nil, 0, fmt.Errorf("list variables: %w", err)
	}
	vs, err := scanVariables(rows, kr)
	if err != nil {
		return nil, 0, fmt.Errorf("list variables: %w", err)
	}
	return vs, total, nil
}

// ExistingVariables returns which of keys are variables.
func ExistingVariables(ctx context.Context, q DBTX, keys []string) (map[string]bool, error) {
	return existing(ctx, q, "variable", "key", keys)
}

// CreateVariable creates a variable; an existing key wraps ErrExists.
func CreateVariable(ctx context.Context, q DBTX, kr *secrets.Keyring, key, val, description string) error {
	if key == "" {
		return errors.New("variable key must not be empty")
	}
	stored, err := kr.Encrypt(val)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `INSERT INTO variable (key, val, description, is_encrypted) VALUES ($1, $2, $3, $4)`,
		key, stored, description, kr.Enabled())
	if IsUniqueViolation(err) {
		return fmt.Errorf("variable %s: %w", key, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create variable %s: %w", key, err)
	}
	return nil
}

// UpdateVariable changes a variable's value and/or description (nil: as
// it is), or returns ErrNotFound. A new value is sealed with the keyring.
func UpdateVariable(ctx context.Context, q DBTX, kr *secrets.Keyring, key string, val, description *string) error {
	var stored *string
	if val != nil {
		s, err := kr.Encrypt(*val)
		if err != nil {
			return err
		}
		stored = &s
	}
	tag, err := q.Exec(ctx, `UPDATE variable SET val = coalesce($2, val), description = coalesce($3, description),
		is_encrypted = CASE WHEN $2::text IS NULL THEN is_encrypted ELSE $4 END WHERE key = $1`,
		key, stored, description, kr.Enabled())
	if err != nil {
		return fmt.Errorf("update variable %s: %w", key, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("variable %s: %w", key, ErrNotFound)
	}
	return nil
}

// GetVariable returns one variable, or ErrNotFound.
func GetVariable(ctx context.Context, q DBTX, kr *secrets.Keyring, key string) (*Variable, error) {
	var v Variable
	err := q.QueryRow(ctx, `SELECT key, val, description, is_encrypted FROM variable WHERE key = $1`, key).
		Scan(&v.Key, &v.Val, &v.Description, &v.IsEncrypted)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("variable %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get variable %s: %w", key, err)
	}
	if v.IsEncrypted {
		if v.Val, err = kr.Decrypt(v.Val); err != nil {
			return nil, fmt.Errorf("variable %s: %w", key, err)
		}
	}
	return &v, nil
}

// DeleteVariable deletes a variable, or returns ErrNotFound.
func DeleteVariable(ctx context.Context, q DBTX, key string) error {
	tag, err := q.Exec(ctx, `DELETE FROM variable WHERE key = $1`, key)
	if err != nil {
		return fmt.Errorf("delete variable %s: %w", key, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("variable %s: %w", key, ErrNotFound)
	}
	return nil
}

// sealConnection returns the stored forms of a connection's password,
// extra and port.
func sealConnection(kr *secrets.Keyring, c *connection.Connection) (pw, ex string, port *int, err error) {
	if c.ConnID == "" || c.ConnType == "" {
		return "", "", nil, errors.New("a connection needs a conn_id and a conn_type")
	}
	if c.Extra != "" && c.ExtraMap() == nil {
		return "", "", nil, fmt.Errorf("connection %s: extra must be a JSON object", c.ConnID)
	}
	if pw, err = kr.Encrypt(c.Password); err != nil {
		return "", "", nil, err
	}
	if ex, err = kr.Encrypt(c.Extra); err != nil {
		return "", "", nil, err
	}
	if c.Port != 0 {
		p := c.Port
		port = &p
	}
	return pw, ex, port, nil
}

// AddConnection stores a new connection; an existing id is refused, as
// Airflow's `connections add`, with an error that wraps ErrExists.
func AddConnection(ctx context.Context, q DBTX, kr *secrets.Keyring, c *connection.Connection) error {
	pw, ex, port, err := sealConnection(kr, c)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `INSERT INTO connection (conn_id, conn_type, description, host, schema, login, password, port, extra,
			is_encrypted, is_extra_encrypted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
		c.ConnID, c.ConnType, c.Description, c.Host, c.Schema, c.Login, pw, port, ex, kr.Enabled())
	if IsUniqueViolation(err) {
		return fmt.Errorf("a connection with conn_id %s %w", c.ConnID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("add connection %s: %w", c.ConnID, err)
	}
	return nil
}

// PutConnection creates a connection or replaces every field of an
// existing one.
func PutConnection(ctx context.Context, q DBTX, kr *secrets.Keyring, c *connection.Connection) error {
	pw, ex, port, err := sealConnection(kr, c)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `INSERT INTO connection (conn_id, conn_type, description, host, schema, login, password, port, extra,
			is_encrypted, is_extra_encrypted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
		ON CONFLICT (conn_id) DO UPDATE SET conn_type = EXCLUDED.conn_type, description = EXCLUDED.description,
			host = EXCLUDED.host, schema = EXCLUDED.schema, login = EXCLUDED.login, password = EXCLUDED.password,
			port = EXCLUDED.port, extra = EXCLUDED.extra, is_encrypted = EXCLUDED.is_encrypted,
			is_extra_encrypted = EXCLUDED.is_extra_encrypted`,
		c.ConnID, c.ConnType, c.Description, c.Host, c.Schema, c.Login, pw, port, ex, kr.Enabled())
	if err != nil {
		return fmt.Errorf("put connection %s: %w", c.ConnID, err)
	}
	return nil
}

// UpdateConnection replaces every field of an existing connection, or
// returns ErrNotFound.
func UpdateConnection(ctx context.Context, q DBTX, kr *secrets.Keyring, c *connection.Connection) error {
	pw, ex, port, err := sealConnection(kr, c)
	if err != nil {
		return err
	}
	tag, err := q.Exec(ctx, `UPDATE connection SET conn_type = $2, description = $3, host = $4, schema = $5, login = $6,
			password = $7, port = $8, extra = $9, is_encrypted = $10, is_extra_encrypted = $10 WHERE conn_id = $1`,
		c.ConnID, c.ConnType, c.Description, c.Host, c.Schema, c.Login, pw, port, ex, kr.Enabled())
	if err != nil {
		return fmt.Errorf("update connection %s: %w", c.ConnID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("connection %s: %w", c.ConnID, ErrNotFound)
	}
	return nil
}

const connColumns = `conn_id, conn_type, description, host, schema, login, password, coalesce(port, 0), extra,
	is_encrypted, is_extra_encrypted`

// scanConnections reads connColumns rows, decrypting.
func scanConnections(rows pgx.Rows, kr *secrets.Keyring) ([]*connection.Connection, error) {
	defer rows.Close()
	var out []*connection.Connection
	for rows.Next() {
		c := &connection.Connection{}
		var encPw, encEx bool
		if err := rows.Scan(&c.ConnID, &c.ConnType, &c.Description, &c.Host, &c.Schema, &c.Login, &c.Password, &c.Port, &c.Extra, &encPw, &encEx); err != nil {
			return nil, err
		}
		var err error
		if encPw && c.Password != "" {
			if c.Password, err = kr.Decrypt(c.Password); err != nil {
				return nil, fmt.Errorf("connection %s password: %w", c.ConnID, err)
			}
		}
		if encEx && c.Extra != "" {
			if c.Extra, err = kr.Decrypt(c.Extra); err != nil {
				return nil, fmt.Errorf("connection %s extra: %w", c.ConnID, err)
			}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ListConnections returns every connection, decrypted, by id.
func ListConnections(ctx context.Context, q DBTX, kr *secrets.Keyring) ([]*connection.Connection, error) {
	rows, err := q.Query(ctx, `SELECT `+connColumns+` FROM connection ORDER BY conn_id`)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	cs, err := scanConnections(rows, kr)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	return cs, nil
}

// connectionOrder maps the API's order_by names to columns; gust's
// connections have no numeric id (Airflow's default order "id" is by
// conn_id here) and no team.
var connectionOrder = map[string]string{"conn_id": "conn_id", "connection_id": "conn_id", "id": "conn_id",
	"conn_type": "conn_type", "description": "description", "host": "host", "port": "port", "team_name": "NULL::text"}

// ListConnectionsPage returns a page of the connections whose id matches
// pattern (an API *_pattern, see likeTerms), decrypted, and how many match.
func ListConnectionsPage(ctx context.Context, q DBTX, kr *secrets.Keyring, pattern string, page Page) ([]*connection.Connection, int, error) {
	order, err := page.orderBy(connectionOrder, "conn_id")
	if err != nil {
		return nil, 0, err
	}
	const where = `(cardinality($1::text[]) = 0 OR conn_id ILIKE ANY($1))`
	terms := likeTerms(pattern)
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM connection WHERE `+where, terms).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count connections: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT `+connColumns+` FROM connection WHERE `+where+` ORDER BY `+order+
		fmt.Sprintf(` LIMIT %d OFFSET %d`, page.Limit, page.Offset), terms)
	if err != nil {
		return nil, 0, fmt.Errorf("list connections: %w", err)
	}
	cs, err := scanConnections(rows, kr)
	if err != nil {
		return nil, 0, fmt.Errorf("list connections: %w", err)
	}
	return cs, total, nil
}

// GetConnection returns one connection, decrypted, or ErrNotFound. With
// forUpdate (in a transaction) the row stays locked until it ends.
func GetConnection(ctx context.Context, q DBTX, kr *secrets.Keyring, connID string, forUpdate bool) (*connection.Connection, error) {
	sql := `SELECT ` + connColumns + ` FROM connection WHERE conn_id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	rows, err := q.Query(ctx, sql, connID)
	if err != nil {
		return nil, fmt.Errorf("get connection %s: %w", connID, err)
	}
	cs, err := scanConnections(rows, kr)
	if err != nil {
		return nil, fmt.Errorf("get connection %s: %w", connID, err)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("connection %s: %w", connID, ErrNotFound)
	}
	return cs[0], nil
}

// ExistingConnections returns which of ids are connections.
func ExistingConnections(ctx context.Context, q DBTX, ids []string) (map[string]bool, error) {
	return existing(ctx, q, "connection", "conn_id", ids)
}

// DeleteConnection deletes a connection, or returns ErrNotFound.
func DeleteConnection(ctx context.Context, q DBTX, connID string) error {
	tag, err := q.Exec(ctx, `DELETE FROM connection WHERE conn_id = $1`, connID)
	if err != nil {
		return fmt.Errorf("delete connection %s: %w", connID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("connection %s: %w", connID, ErrNotFound)
	}
	return nil
}

// MaxXComBytes bounds one XCom value's JSON.
const MaxXComBytes = 48 << 10

// XCom is one value a task pushed.
type XCom struct {
	DagID     string          `json:"dag_id"`
	RunID     string          `json:"run_id"`
	TaskID    string          `json:"task_id"`
	MapIndex  int             `json:"map_index"`
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Timestamp string          `json:"timestamp"`
}

// ErrXComTooLarge is returned for a value over MaxXComBytes.
var ErrXComTooLarge = fmt.Errorf("XCom value larger than %d bytes (keep large data in storage and push its location)", MaxXComBytes)

// PushXCom stores one value (JSON) for a task of a run, replacing a value
// under the same key.
func PushXCom(ctx context.Context, q DBTX, k TIKey, key string, value any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("xcom %s of %s: value is not JSON-serialisable: %w", key, k, err)
	}
	if len(b) > MaxXComBytes {
		return fmt.Errorf("xcom %s of %s: %w", key, k, ErrXComTooLarge)
	}
	_, err = q.Exec(ctx, `INSERT INTO xcom (dag_id, run_id, task_id, map_index, key, value) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (dag_id, run_id, task_id, map_index, key) DO UPDATE SET value = EXCLUDED.value, timestamp = now()`,
		k.DagID, k.RunID, k.TaskID, k.MapIndex, key, b)
	if err != nil {
		return fmt.Errorf("push xcom %s of %s: %w", key, k, err)
	}
	return nil
}

// ClearXComs deletes a task instance's XComs (a new try starts clean, as in
// Airflow).
func ClearXComs(ctx context.Context, q DBTX, k TIKey) error {
	_, err := q.Exec(ctx, `DELETE FROM xcom WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4`,
		k.DagID, k.RunID, k.TaskID, k.MapIndex)
	if err != nil {
		return fmt.Errorf("clear xcoms of %s: %w", k, err)
	}
	return nil
}

// ListXComs returns a run's XComs (taskID "" for all tasks).
func ListXComs(ctx context.Context, q DBTX, dagID, runID, taskID string) ([]XCom, error) {
	rows, err := q.Query(ctx, `SELECT dag_id, run_id, task_id, map_index, key, value, to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
		FROM xcom WHERE dag_id = $1 AND run_id = $2 AND ($3 = '' OR task_id = $3) ORDER BY task_id, map_index, key`, dagID, runID, taskID)
	if err != nil {
		return nil, fmt.Errorf("list xcoms: %w", err)
	}
	xs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (XCom, error) {
		var x XCom
		err := r.Scan(&x.DagID, &x.RunID, &x.TaskID, &x.MapIndex, &x.Key, &x.Value, &x.Timestamp)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("list xcoms: %w", err)
	}
	return xs, nil
}

// SkipTIs sets the given task instances of a run to skipped if they are not
// yet decided (a branch or short circuit skipping its downstream).
func SkipTIs(ctx context.Context, q DBTX, dagID, runID string, taskIDs []string) error {
	if len(taskIDs) == 0 {
		return nil
	}
	_, err := q.Exec(ctx, `UPDATE task_instance SET state = 'skipped', start_date = coalesce(start_date, now()), end_date = now(),
		updated_at = now() WHERE dag_id = $1 AND run_id = $2 AND task_id = ANY($3) AND state IS NULL`, dagID, runID, taskIDs)
	if err != nil {
		return fmt.Errorf("skip tasks of %s/%s: %w", dagID, runID, err)
	}
	return nil
}

// SaveRenderedFields stores the templated fields a try rendered (already
// masked), replacing an earlier try's.
func SaveRenderedFields(ctx context.Context, q DBTX, t TryKey, fields map[string]any) error {
	b, err := json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("rendered fields of %s: %w", t.TIKey, err)
	}
	_, err = q.Exec(ctx, `INSERT INTO rendered_task_instance_fields (dag_id, run_id, task_id, map_index, try_number, rendered_fields)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dag_id, run_id, task_id, map_index)
		DO UPDATE SET try_number = EXCLUDED.try_number, rendered_fields = EXCLUDED.rendered_fields`,
		t.DagID, t.RunID, t.TaskID, t.MapIndex, t.TryNumber, b)
	if err != nil {
		return fmt.Errorf("store rendered fields of %s: %w", t.TIKey, err)
	}
	return nil
}

// SetRenderedMapIndex stores the label a try's map_index_template
// rendered to on its task instance and its history row (Airflow's
// rendered_map_index).
func SetRenderedMapIndex(ctx context.Context, q DBTX, t TryKey, label string) error {
	_, err := q.Exec(ctx, `WITH u AS (UPDATE task_instance SET rendered_map_index = $6
			WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4)
		UPDATE task_instance_history SET rendered_map_index = $6
		WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4 AND try_number = $5`,
		t.DagID, t.RunID, t.TaskID, t.MapIndex, t.TryNumber, label)
	if err != nil {
		return fmt.Errorf("store rendered map index of %s: %w", t.TIKey, err)
	}
	return nil
}

// RenderedFields returns what the task instance's latest finished try
// rendered; nil when no try has.
func RenderedFields(ctx context.Context, q DBTX, k TIKey) (map[string]any, error) {
	var out map[string]any
	err := q.QueryRow(ctx, `SELECT rendered_fields FROM rendered_task_instance_fields
		WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4`, k.DagID, k.RunID, k.TaskID, k.MapIndex).Scan(&out)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rendered fields of %s: %w", k, err)
	}
	return out, nil
}
