package apiserver

import (
	"net/http"
	"time"

	"github.com/gust-sched/gust/dagprocessor"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/scheduler"
)

type versionInfo struct {
	Version    string  `json:"version"`
	GitVersion *string `json:"git_version"`
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, versionInfo{Version: s.opts.Version, GitVersion: strp(s.opts.Version)})
	return nil
}

type baseInfo struct {
	Status *string `json:"status"`
}

type schedulerInfo struct {
	Status                   *string    `json:"status"`
	LatestSchedulerHeartbeat *time.Time `json:"latest_scheduler_heartbeat"`
}

type dagProcessorInfo struct {
	Status                      *string    `json:"status"`
	LatestDagProcessorHeartbeat *time.Time `json:"latest_dag_processor_heartbeat"`
}

type triggererInfo struct {
	Status                   *string    `json:"status"`
	LatestTriggererHeartbeat *time.Time `json:"latest_triggerer_heartbeat"`
}

type healthInfo struct {
	Metadatabase baseInfo          `json:"metadatabase"`
	Scheduler    schedulerInfo     `json:"scheduler"`
	Triggerer    triggererInfo     `json:"triggerer"`
	DagProcessor *dagProcessorInfo `json:"dag_processor"`
}

// healthThreshold is how old a heartbeat may be for a component to count as
// healthy ([scheduler] scheduler_health_check_threshold's default).
const healthThreshold = 30 * time.Second

// getHealth reports the database and the latest scheduler and DAG
// processor heartbeats, as Airflow's /monitor/health. gust has no
// triggerer: its status is null.
func (s *Server) getHealth(w http.ResponseWriter, r *http.Request) error {
	healthy, unhealthy := "healthy", "unhealthy"
	h := healthInfo{Metadatabase: baseInfo{Status: &healthy}, Scheduler: schedulerInfo{Status: &unhealthy}}
	jobs, err := metadb.ListJobs(r.Context(), s.db.Pool, metadb.JobFilter{Type: scheduler.JobType}, 0, 1)
	if err != nil {
		h.Metadatabase.Status = &unhealthy
		writeJSON(w, http.StatusOK, h)
		return nil
	}
	if len(jobs) > 0 {
		j := jobs[0]
		hb := j.LatestHeartbeat.UTC()
		h.Scheduler.LatestSchedulerHeartbeat = &hb
		if j.State == "running" && s.now().Sub(hb) < healthThreshold {
			h.Scheduler.Status = &healthy
		}
	}
	procs, err := metadb.ListJobs(r.Context(), s.db.Pool, metadb.JobFilter{Type: dagprocessor.JobType}, 0, 1)
	if err == nil && len(procs) > 0 {
		j := procs[0]
		hb := j.LatestHeartbeat.UTC()
		st := unhealthy
		if j.State == "running" && s.now().Sub(hb) < healthThreshold {
			st = healthy
		}
		h.DagProcessor = &dagProcessorInfo{Status: &st, LatestDagProcessorHeartbeat: &hb}
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}
