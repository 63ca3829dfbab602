// Package logkey fixes the attribute keys gust's structured logs use, so
// that every component's lines can be filtered the same way.
package logkey

// Attribute keys.
const (
	DagID     = "dag_id"
	RunID     = "run_id"
	TaskID    = "task_id"
	MapIndex  = "map_index"
	TryNumber = "try_number"
	Queue     = "queue"
	Worker    = "worker"
	Job       = "job_id"
	File      = "file"
	Err       = "err"
)
