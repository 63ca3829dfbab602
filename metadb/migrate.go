package metadb

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	Up      string
	Down    string
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	byVersion := map[int]*Migration{}
	for _, e := range entries {
		name := e.Name()
		base, dir, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), ".")
		if !ok || (dir != "up" && dir != "down") {
			return nil, fmt.Errorf("migration %s: name must be NNN_name.up.sql or .down.sql", name)
		}
		num, label, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad version: %w", name, err)
		}
		body, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		m := byVersion[v]
		if m == nil {
			m = &Migration{Version: v, Name: label}
			byVersion[v] = m
		}
		if dir == "up" {
			m.Up = string(body)
		} else {
			m.Down = string(body)
		}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// migrateLockKey serialises concurrent `db migrate` runs.
const migrateLockKey = 0x67757374 // "gust"

// Migrate applies every pending migration, each with its version row in one
// transaction, and makes sure default_pool exists with defaultPoolSlots
// slots. It is safe to run concurrently and repeatedly. It returns the
// versions it applied.
func (db *DB) Migrate(ctx context.Context, defaultPoolSlots int) ([]int, error) {
	migs, err := Migrations()
	if err != nil {
		return nil, err
	}
	var applied []int
	err = db.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS gust_schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("create migrations table: %w", err)
		}
		done := map[int]bool{}
		rows, err := tx.Query(ctx, `SELECT version FROM gust_schema_migrations`)
		if err != nil {
			return fmt.Errorf("read applied migrations: %w", err)
		}
		vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return fmt.Errorf("read applied migrations: %w", err)
		}
		for _, v := range vs {
			done[v] = true
		}
		for _, m := range migs {
			if done[m.Version] {
				continue
			}
			// A savepoint per migration keeps each one atomic with its row.
			if err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
				if _, err := sp.Exec(ctx, m.Up); err != nil {
					return err
				}
				_, err := sp.Exec(ctx, `INSERT INTO gust_schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
				return err
			}); err != nil {
				return fmt.Errorf("apply migration %03d_%s: %w", m.Version, m.Name, err)
			}
			applied = append(applied, m.Version)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO slot_pool (pool, slots, description) VALUES ('default_pool', $1, 'Default pool')
			ON CONFLICT (pool) DO NOTHING`, defaultPoolSlots); err != nil {
			return fmt.Errorf("create default_pool: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return applied, nil
}

// SchemaVersion returns the highest applied migration, and the highest the
// binary knows; `gust db check` compares them.
func (db *DB) SchemaVersion(ctx context.Context) (current, latest int, err error) {
	migs, err := Migrations()
	if err != nil {
		return 0, 0, err
	}
	if len(migs) > 0 {
		latest = migs[len(migs)-1].Version
	}
	err = db.Pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM gust_schema_migrations`).Scan(&current)
	if err != nil {
		return 0, latest, fmt.Errorf("read schema version (run `gust db migrate`): %w", err)
	}
	return current, latest, nil
}

// Reset drops every gust table and migrates again.
func (db *DB) Reset(ctx context.Context, defaultPoolSlots int) error {
	migs, err := Migrations()
	if err != nil {
		return err
	}
	err = db.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		for i := len(migs) - 1; i >= 0; i-- {
			if _, err := tx.Exec(ctx, migs[i].Down); err != nil {
				return fmt.Errorf("revert migration %03d_%s: %w", migs[i].Version, migs[i].Name, err)
			}
		}
		_, err := tx.Exec(ctx, `DROP TABLE IF EXISTS gust_schema_migrations`)
		return err
	})
	if err != nil {
		return fmt.Errorf("reset database: %w", err)
	}
	_, err = db.Migrate(ctx, defaultPoolSlots)
	return err
}
