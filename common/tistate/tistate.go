// Package tistate names the states of task instances and DAG runs, with
// Airflow's names, and says which are terminal.
//
// The task-instance state machine (see docs/states.md):
//
//	none -> scheduled -> queued -> running -> success
//	                       ^         |-----> failed
//	                       |         '-----> up_for_retry --(retry delay)--> scheduled
//	none -> skipped / upstream_failed / removed   (decided by the scheduler)
package tistate

// Task instance states. None is stored as SQL NULL.
const (
	None            = ""
	Removed         = "removed"
	Scheduled       = "scheduled"
	Queued          = "queued"
	Running         = "running"
	Success         = "success"
	Failed          = "failed"
	UpForRetry      = "up_for_retry"
	UpForReschedule = "up_for_reschedule"
	UpstreamFailed  = "upstream_failed"
	Skipped         = "skipped"
	Restarting      = "restarting"
	Deferred        = "deferred"
)

// DAG run states.
const (
	RunQueued  = "queued"
	RunRunning = "running"
	RunSuccess = "success"
	RunFailed  = "failed"
)

// DAG run types, with Airflow's names.
const (
	RunTypeScheduled = "scheduled"
	RunTypeManual    = "manual"
	RunTypeBackfill  = "backfill"
	// RunTypeAssetTriggered is a run its asset schedule created.
	RunTypeAssetTriggered = "asset_triggered"
)

// Finished reports whether a task instance in state s will not change again
// without an operator's action (Airflow's State.finished).
func Finished(s string) bool {
	switch s {
	case Success, Failed, Skipped, UpstreamFailed, Removed:
		return true
	}
	return false
}

// Display returns s, or "none" for the empty state, for listings.
func Display(s string) string {
	if s == None {
		return "none"
	}
	return s
}

// RunFinished reports whether a DAG run state is final.
func RunFinished(s string) bool { return s == RunSuccess || s == RunFailed }
