// Package broker carries queued task-instance tries from schedulers to
// workers over RabbitMQ: a durable direct exchange, one durable queue per
// task queue name, persistent messages, publisher confirms on the publishing
// side and manual acks with a prefetch window on the consuming side.
//
// A message names a try (dag, run, task, map index, try number) and the
// serialized DAG's hash, never the task's code: workers load the task from
// the metadata database and claim the try there, so a duplicate or stale
// message is harmless.
package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Message is the body of one broker message: one try to run.
type Message struct {
	DagID     string    `json:"dag_id"`
	RunID     string    `json:"run_id"`
	TaskID    string    `json:"task_id"`
	MapIndex  int       `json:"map_index"`
	TryNumber int       `json:"try_number"`
	DagHash   string    `json:"dag_hash"`
	Queue     string    `json:"queue"`
	QueuedAt  time.Time `json:"queued_at"`
}

// Encode returns the message's wire form.
func (m Message) Encode() ([]byte, error) { return json.Marshal(m) }

// Decode parses a message body, rejecting one that names no try.
func Decode(body []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("decode task message: %w", err)
	}
	if m.DagID == "" || m.RunID == "" || m.TaskID == "" || m.TryNumber < 1 {
		return m, errors.New("decode task message: missing dag_id, run_id, task_id or try_number")
	}
	return m, nil
}

// Options configures a connection to RabbitMQ.
type Options struct {
	URL      string // amqp://user:pass@host:port/vhost
	Exchange string // durable direct exchange name
}

// declareTopology declares the exchange and, for each queue name, a durable
// queue bound to it by its own name.
func declareTopology(ch *amqp.Channel, exchange string, queues ...string) error {
	if err := ch.ExchangeDeclare(exchange, amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", exchange, err)
	}
	for _, q := range queues {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare queue %s: %w", q, err)
		}
		if err := ch.QueueBind(q, q, exchange, false, nil); err != nil {
			return fmt.Errorf("bind queue %s: %w", q, err)
		}
	}
	return nil
}

func dial(url string) (*amqp.Connection, error) {
	conn, err := amqp.DialConfig(url, amqp.Config{
		Heartbeat: 10 * time.Second,
		Locale:    "en_US",
		Dial:      amqp.DefaultDial(10 * time.Second),
		Properties: amqp.Table{
			"connection_name": "gust",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("connect to broker: %w", err)
	}
	return conn, nil
}

// backoff returns the wait before reconnect attempt n (0-based): 100ms
// doubling up to 5s.
func backoff(n int) time.Duration {
	d := 100 * time.Millisecond
	for i := 0; i < n && d < 5*time.Second; i++ {
		d *= 2
	}
	return min(d, 5*time.Second)
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
