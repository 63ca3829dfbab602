package metadb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Deferred is a DBTX of one transaction whose Exec statements are queued
// and sent together, in one round trip, by Flush (or before the next
// query, so that statements keep their order): for the writes that follow
// a try's result, whose outcomes the caller needs only as a whole.
type Deferred struct {
	tx pgx.Tx
	b  pgx.Batch
}

// NewDeferred queues tx's Exec statements.
func NewDeferred(tx pgx.Tx) *Deferred { return &Deferred{tx: tx} }

// Exec queues a statement; its error, if any, is Flush's.
func (d *Deferred) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	d.b.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

// Query sends what is queued, then runs the query.
func (d *Deferred) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := d.Flush(ctx); err != nil {
		return nil, err
	}
	return d.tx.Query(ctx, sql, args...)
}

// QueryRow sends what is queued, then runs the query.
func (d *Deferred) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := d.Flush(ctx); err != nil {
		return errRow{err}
	}
	return d.tx.QueryRow(ctx, sql, args...)
}

// Flush sends the queued statements in one round trip and returns the
// first one's error.
func (d *Deferred) Flush(ctx context.Context) error {
	n := d.b.Len()
	if n == 0 {
		return nil
	}
	err := d.tx.SendBatch(ctx, &d.b).Close()
	d.b = pgx.Batch{}
	if err != nil {
		return fmt.Errorf("%d queued statements: %w", n, err)
	}
	return nil
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
