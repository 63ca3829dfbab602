package metadb

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsTransient reports whether err may go away by itself: the database is
// unreachable or restarting, or a serialization failure or deadlock asked
// for a retry. Errors in the statement itself are not transient.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", "40P01", // serialization_failure, deadlock_detected
			"57P01", "57P02", "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
			"53300", "08000", "08003", "08006", "08001", "08004":
			return true
		}
		return false
	}
	// Anything else (dial errors, closed or broken connections, timeouts
	// talking to the server) is about reaching the database.
	return true
}

// Retry runs fn until it succeeds, fails with a non-transient error, or ctx
// is done, backing off from 100ms to 5s between attempts and logging each
// failure with what was being done.
func Retry(ctx context.Context, logger *slog.Logger, what string, fn func(ctx context.Context) error) error {
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || !IsTransient(err) {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
		logger.Warn("database unavailable; retrying", "op", what, "attempt", attempt, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(delay*2, 5*time.Second)
	}
}
