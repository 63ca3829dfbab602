package metadb_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/metadb"
)

// TestDeferred checks that queued statements run in order, before a query
// that follows them, in the transaction, and that a failing one fails the
// flush and, with it, the transaction.
func TestDeferred(t *testing.T) {
	db, ctx := setup(t)
	if _, err := db.Pool.Exec(ctx, `CREATE TABLE deferred_t (n int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		q := metadb.NewDeferred(tx)
		for _, n := range []int{1, 2, 3} {
			if _, err := q.Exec(ctx, `INSERT INTO deferred_t VALUES ($1)`, n); err != nil {
				return err
			}
		}
		var sum int
		if err := q.QueryRow(ctx, `SELECT sum(n) FROM deferred_t`).Scan(&sum); err != nil || sum != 6 {
			t.Errorf("a query after queued inserts sees sum %d (%v), want 6", sum, err)
		}
		if _, err := q.Exec(ctx, `UPDATE deferred_t SET n = n * 10`); err != nil {
			return err
		}
		return q.Flush(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	var sum int
	if err := db.Pool.QueryRow(ctx, `SELECT sum(n) FROM deferred_t`).Scan(&sum); err != nil || sum != 60 {
		t.Fatalf("after commit: sum %d, %v; want 60", sum, err)
	}
	err = db.InTx(ctx, func(tx pgx.Tx) error {
		q := metadb.NewDeferred(tx)
		_, _ = q.Exec(ctx, `INSERT INTO deferred_t VALUES (1000)`)
		_, _ = q.Exec(ctx, `INSERT INTO deferred_t VALUES (10)`) // a duplicate key
		return q.Flush(ctx)
	})
	if err == nil || !strings.Contains(err.Error(), "duplicate key") {
		t.Fatalf("a failing queued statement: %v", err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT sum(n) FROM deferred_t`).Scan(&sum); err != nil || sum != 60 {
		t.Errorf("the failed transaction left sum %d, %v; want 60", sum, err)
	}
}
