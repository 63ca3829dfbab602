package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// ManagedQueue is one queue as RabbitMQ's management API reports it.
// Its figures are the broker's statistics, refreshed every few seconds
// (collect_statistics_interval); PublishRate and DeliverRate are messages
// per second.
type ManagedQueue struct {
	Name        string  `json:"name"`
	Ready       int     `json:"messages_ready"`
	Unacked     int     `json:"messages_unacknowledged"`
	Consumers   int     `json:"consumers"`
	PublishRate float64 `json:"publish_rate"`
	DeliverRate float64 `json:"deliver_rate"`
}

// Management reads queues from RabbitMQ's management HTTP API, as
// Flower's --broker_api does.
type Management struct {
	base   *url.URL
	vhost  string
	client *http.Client
}

// NewManagement returns a client of the management API at apiURL
// (http://user:password@host:15672/api/) for the virtual host of
// brokerURL. apiURL "auto" derives the API from the broker URL: the same
// host and credentials on port 15672.
func NewManagement(apiURL, brokerURL string) (*Management, error) {
	bu, err := url.Parse(brokerURL)
	if err != nil {
		return nil, fmt.Errorf("broker url: %w", err)
	}
	if apiURL == "auto" {
		u := url.URL{Scheme: "http", Host: bu.Hostname() + ":15672", User: bu.User, Path: "/api/"}
		if strings.HasPrefix(bu.Scheme, "amqps") {
			u.Scheme = "https"
		}
		apiURL = u.String()
	}
	base, err := url.Parse(apiURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("broker_api %q: want http://user:password@host:15672/api/", apiURL)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	vhost := strings.TrimPrefix(bu.Path, "/")
	if vhost == "" {
		vhost = "/"
	} else if v, err := url.PathUnescape(vhost); err == nil {
		vhost = v
	}
	return &Management{base: base, vhost: vhost, client: &http.Client{Timeout: 5 * time.Second}}, nil
}

// Queues lists the durable, shared queues of the virtual host (the task
// queues; the control plane's exclusive reply queues are left out).
func (m *Management) Queues(ctx context.Context) ([]ManagedQueue, error) {
	u := *m.base
	u.User = nil
	u.Path += "queues/" + url.PathEscape(m.vhost)
	u.RawPath = m.base.EscapedPath() + "queues/" + url.PathEscape(m.vhost)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("management api: %w", err)
	}
	if m.base.User != nil {
		pw, _ := m.base.User.Password()
		req.SetBasicAuth(m.base.User.Username(), pw)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("management api: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("management api: GET %s: %s", u.Redacted(), resp.Status)
	}
	var raw []struct {
		Name       string `json:"name"`
		Durable    bool   `json:"durable"`
		Exclusive  bool   `json:"exclusive"`
		AutoDelete bool   `json:"auto_delete"`
		Ready      int    `json:"messages_ready"`
		Unacked    int    `json:"messages_unacknowledged"`
		Consumers  int    `json:"consumers"`
		Stats      struct {
			Publish struct {
				Rate float64 `json:"rate"`
			} `json:"publish_details"`
			DeliverGet struct {
				Rate float64 `json:"rate"`
			} `json:"deliver_get_details"`
		} `json:"message_stats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		return nil, fmt.Errorf("management api: read queues: %w", err)
	}
	out := make([]ManagedQueue, 0, len(raw))
	for _, q := range raw {
		if !q.Durable || q.Exclusive || q.AutoDelete || strings.HasPrefix(q.Name, "amq.") {
			continue
		}
		out = append(out, ManagedQueue{Name: q.Name, Ready: q.Ready, Unacked: q.Unacked, Consumers: q.Consumers,
			PublishRate: q.Stats.Publish.Rate, DeliverRate: q.Stats.DeliverGet.Rate})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
