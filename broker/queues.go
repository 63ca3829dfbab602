package broker

import (
	"context"
	"errors"
	"fmt"
	"sort"

	amqp "github.com/rabbitmq/amqp091-go"
)

// QueueStats is what AMQP says of one queue: its ready messages and its
// consumers (RabbitMQ's passive declare).
type QueueStats struct {
	Name      string `json:"name"`
	Messages  int    `json:"messages"`
	Consumers int    `json:"consumers"`
}

// Queues reads the named queues' depth and consumers over one short
// connection. A queue that does not exist is left out (a passive declare
// of it closes the channel, so the next name gets a new one).
func (c *Control) Queues(ctx context.Context, names []string) ([]QueueStats, error) {
	conn, err := dial(c.opts.URL)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			conn.Close() // unblocks a declare waiting on a stuck broker
		case <-done:
		}
	}()
	var ch *amqp.Channel
	out := []QueueStats{}
	seen := map[string]bool{}
	for _, name := range names {
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		if ch == nil || ch.IsClosed() {
			if ch, err = conn.Channel(); err != nil {
				return nil, fmt.Errorf("open broker channel: %w", err)
			}
		}
		q, err := ch.QueueDeclarePassive(name, true, false, false, false, nil)
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inspect queue %s: %w", name, err)
		}
		out = append(out, QueueStats{Name: q.Name, Messages: q.Messages, Consumers: q.Consumers})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
