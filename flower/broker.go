package flower

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/gust-sched/gust/broker"
	"github.com/gust-sched/gust/common/monitor"
)

// brokerQueue is one queue of the broker page: AMQP's passive declare
// gives its ready messages and consumers as they are now, the management
// API (when there is one) the unacknowledged messages and the rates, and
// the monitor which workers consume it with how many free slots.
type brokerQueue struct {
	Name        string        `json:"name"`
	Ready       int           `json:"messages"`
	Unacked     *int          `json:"messages_unacknowledged"`
	Consumers   int           `json:"consumers"`
	PublishRate *float64      `json:"publish_rate"`
	DeliverRate *float64      `json:"deliver_rate"`
	Workers     []queueWorker `json:"workers"`
	FreeSlots   int           `json:"free_slots"`
}

type queueWorker struct {
	Hostname  string `json:"hostname"`
	FreeSlots int    `json:"free_slots"`
}

type brokerView struct {
	Queues []brokerQueue `json:"queues"`
	// Management says whether the management API answered; its error when not.
	Management      bool      `json:"management"`
	ManagementError string    `json:"management_error,omitempty"`
	Time            time.Time `json:"time"`
}

// brokerCacheTTL is how long one reading of the broker serves every page,
// scrape and chart point that asks (each reading dials the broker).
const brokerCacheTTL = time.Second

// broker reads the queues: those the online workers consume, [celery]
// default_queue, and every task queue the management API lists (so a queue
// that no worker serves shows as it grows).
func (s *Server) broker(ctx context.Context) (brokerView, error) {
	s.brokerMu.Lock()
	defer s.brokerMu.Unlock()
	if !s.brokerAt.IsZero() && time.Since(s.brokerAt) < brokerCacheTTL {
		return s.brokerLast, nil
	}
	if s.opts.Control == nil {
		return brokerView{}, paramError("queue lengths need the broker")
	}
	ws, err := s.reader.Workers(ctx)
	if err != nil {
		return brokerView{}, err
	}
	names := []string{s.opts.DefaultQueue}
	if names[0] == "" {
		names[0] = "default"
	}
	for _, w := range ws {
		names = append(names, w.Queues...)
	}
	view := brokerView{Time: time.Now()}
	managed := map[string]broker.ManagedQueue{}
	if s.opts.Management != nil {
		mq, err := s.opts.Management.Queues(ctx)
		if err != nil {
			view.ManagementError = err.Error()
		} else {
			view.Management = true
			for _, q := range mq {
				managed[q.Name] = q
				names = append(names, q.Name)
			}
		}
	}
	stats, err := s.opts.Control.Queues(ctx, names)
	if err != nil {
		return brokerView{}, err
	}
	for _, st := range stats {
		q := brokerQueue{Name: st.Name, Ready: st.Messages, Consumers: st.Consumers, Workers: []queueWorker{}}
		if m, ok := managed[st.Name]; ok {
			q.Unacked, q.PublishRate, q.DeliverRate = &m.Unacked, &m.PublishRate, &m.DeliverRate
		}
		for _, w := range ws {
			if w.Status == monitor.Online && slices.Contains(w.Queues, st.Name) {
				free := max(w.Concurrency-w.Active, 0)
				q.Workers = append(q.Workers, queueWorker{Hostname: w.Hostname, FreeSlots: free})
				q.FreeSlots += free
			}
		}
		view.Queues = append(view.Queues, q)
	}
	sort.Slice(view.Queues, func(i, j int) bool { return view.Queues[i].Name < view.Queues[j].Name })
	s.brokerLast, s.brokerAt = view, time.Now()
	return view, nil
}

// apiBroker is the broker page's data.
func (s *Server) apiBroker(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	v, err := s.broker(ctx)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	writeJSON(w, v)
}
