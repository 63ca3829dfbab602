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
	vs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Variable, error) {
		var v Variable
		err := r.Scan(&v.Key, &v.Val, &v.Description, &v.IsEncrypted)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("list variables: %w", err)
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

// AddConnection stores a new connection; an existing id is refused, as
// Airflow's `connections add`.
func AddConnection(ctx context.Context, q DBTX, kr *secrets.Keyring, c *connection.Connection) error {
	if c.ConnID == "" || c.ConnType == "" {
		return errors.New("a connection needs a conn_id and a conn_type")
	}
	if c.Extra != "" && c.ExtraMap() == nil {
		return fmt.Errorf("connection %s: extra must be a JSON object", c.ConnID)
	}
	pw, err := kr.Encrypt(c.Password)
	if err != nil {
		return err
	}
	ex, err := kr.Encrypt(c.Extra)
	if err != nil {
		return err
	}
	var port *int
	if c.Port != 0 {
		port = &c.Port
	}
	_, err = q.Exec(ctx, `INSERT INTO connection (conn_id, conn_type, description, host, schema, login, password, port, extra,
			is_encrypted, is_extra_encrypted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
		c.ConnID, c.ConnType, c.Description, c.Host, c.Schema, c.Login, pw, port, ex, kr.Enabled())
	if IsUniqueViolation(err) {
		return fmt.Errorf("a connection with conn_id %s already exists", c.ConnID)
	}
	if err != nil {
		return fmt.Errorf("add connection %s: %w", c.ConnID, err)
	}
	return nil
}

// ListConnections returns every connection, decrypted, by id.
func ListConnections(ctx context.Context, q DBTX, kr *secrets.Keyring) ([]*connection.Connection, error) {
	rows, err := q.Query(ctx, `SELECT conn_id, conn_type, description, host, schema, login, password, coalesce(port, 0), extra,
		is_encrypted, is_extra_encrypted FROM connection ORDER BY conn_id`)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	defer rows.Close()
	var out []*connection.Connection
	for rows.Next() {
		c := &connection.Connection{}
		var encPw, encEx bool
		if err := rows.Scan(&c.ConnID, &c.ConnType, &c.Description, &c.Host, &c.Schema, &c.Login, &c.Password, &c.Port, &c.Extra, &encPw, &encEx); err != nil {
			return nil, fmt.Errorf("list connections: %w", err)
		}
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
