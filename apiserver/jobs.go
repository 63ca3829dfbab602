package apiserver

import (
	"net/http"
	"time"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

func (s *Server) routesJobs(r *router) {
	r.handle("GET /api/v2/jobs", auth.Viewer, s.getJobs)
}

// jobResponse is Airflow's JobResponse. gust's jobs (SchedulerJob,
// WorkerJob) belong to no DAG and record no executor class or unix name.
type jobResponse struct {
	ID              int64      `json:"id"`
	DagID           *string    `json:"dag_id"`
	State           *string    `json:"state"`
	JobType         *string    `json:"job_type"`
	StartDate       *time.Time `json:"start_date"`
	EndDate         *time.Time `json:"end_date"`
	LatestHeartbeat *time.Time `json:"latest_heartbeat"`
	ExecutorClass   *string    `json:"executor_class"`
	Hostname        *string    `json:"hostname"`
	Unixname        *string    `json:"unixname"`
	DagDisplayName  *string    `json:"dag_display_name"`
}

type jobCollection struct {
	Jobs         []jobResponse `json:"jobs"`
	TotalEntries int           `json:"total_entries"`
}

func jobResp(j *metadb.Job) jobResponse {
	start, hb := j.StartDate.UTC(), j.LatestHeartbeat.UTC()
	out := jobResponse{ID: j.ID, State: strp(j.State), JobType: strp(j.JobType), StartDate: &start,
		LatestHeartbeat: &hb, Hostname: strp(j.Hostname)}
	if j.EndDate != nil {
		end := j.EndDate.UTC()
		out.EndDate = &end
	}
	return out
}

// getJobs lists jobs. is_alive is decided by the database, before the
// page is cut (Airflow filters the page it has read), with the scheduler's
// health threshold for every job type: gust's jobs all heartbeat more
// often than that.
func (s *Server) getJobs(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	page := q.page("id")
	f := metadb.JobListFilter{
		State: q.str("job_state"), Type: q.str("job_type"), Hostname: q.str("hostname"),
		ExecutorClass: q.str("executor_class"), Alive: q.optBool("is_alive"), AliveWithin: healthThreshold,
		StartGTE: q.optTime("start_date_gte"), StartGT: q.optTime("start_date_gt"),
		StartLTE: q.optTime("start_date_lte"), StartLT: q.optTime("start_date_lt"),
		EndGTE: q.optTime("end_date_gte"), EndGT: q.optTime("end_date_gt"),
		EndLTE: q.optTime("end_date_lte"), EndLT: q.optTime("end_date_lt"),
	}
	if err := q.err(); err != nil {
		return err
	}
	jobs, total, err := metadb.ListJobsPage(r.Context(), s.db.Pool, f, page)
	if err != nil {
		return err
	}
	out := jobCollection{Jobs: make([]jobResponse, 0, len(jobs)), TotalEntries: total}
	for i := range jobs {
		out.Jobs = append(out.Jobs, jobResp(&jobs[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
