// Package metadb is gust's metadata store on PostgreSQL: the schema and its
// migrations, and every query the processes run, one file per table. It is
// the only source of truth; RabbitMQ and Redis carry work and monitoring.
package metadb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DBTX is what queries need: a pool, a connection or a transaction.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// DB is the metadata database.
type DB struct {
	Pool *pgxpool.Pool
	url  string
}

// Open connects to the database at url (a libpq URL or DSN) with at most
// maxConns connections. It does not migrate.
func Open(ctx context.Context, url string, maxConns int) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse [database] sql_conn: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = int32(maxConns)
	}
	cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to metadata database: %w", err)
	}
	return &DB{Pool: pool, url: url}, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.Pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping metadata database: %w", err)
	}
	return nil
}

// Close closes every connection.
func (db *DB) Close() { db.Pool.Close() }

// URL returns the connection URL the DB was opened with.
func (db *DB) URL() string { return db.url }

// InTx runs fn in a transaction, committing when it returns nil.
func (db *DB) InTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.Pool, fn)
}

// IsLockNotAvailable reports whether err is Postgres' lock_not_available
// (55P03), as raised by NOWAIT.
func IsLockNotAvailable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55P03"
}

// IsUniqueViolation reports whether err is a unique_violation (23505).
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// Notify channels. Workers and triggers notify; schedulers listen.
const (
	// ChannelSchedule wakes schedulers: a TI finished, a run was triggered,
	// a DAG was unpaused.
	ChannelSchedule = "gust_schedule"
)

// NotifySchedule wakes every listening scheduler.
func NotifySchedule(ctx context.Context, q DBTX) error {
	if _, err := q.Exec(ctx, `SELECT pg_notify($1, '')`, ChannelSchedule); err != nil {
		return fmt.Errorf("notify schedulers: %w", err)
	}
	return nil
}

// FromPool wraps an existing pool (benchmarks use it to count queries with
// a tracer of their own).
func FromPool(pool *pgxpool.Pool) *DB { return &DB{Pool: pool, url: pool.Config().ConnString()} }
