package scheduler

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestInvalidRequestsReadAsTheirMessage: bad input reads as one sentence
// that names the operation and the DAG, and is still ErrInvalidTrigger.
func TestInvalidRequestsReadAsTheirMessage(t *testing.T) {
	jan, feb := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	_, err := Backfill(context.Background(), nil, BackfillRequest{DagID: "example_bash", Start: feb, End: jan})
	if want := "backfill of example_bash: start 2024-02-01 is after end 2024-01-01"; err == nil || err.Error() != want {
		t.Errorf("backfill: %v, want %s", err, want)
	}
	if !errors.Is(err, ErrInvalidTrigger) {
		t.Errorf("backfill: %v is not ErrInvalidTrigger", err)
	}
	_, err = Trigger(context.Background(), nil, TriggerRequest{DagID: "d", RunID: "bad id"})
	if want := `trigger of d: run id "bad id" must match ^[A-Za-z0-9_.~:+-]+$ and be at most 250 characters`; err == nil || err.Error() != want || !errors.Is(err, ErrInvalidTrigger) {
		t.Errorf("trigger: %v, want %s", err, want)
	}
}
