package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Publisher publishes messages with publisher confirms. It connects lazily
// and reconnects on the next Publish after a failure. Safe for concurrent use.
type Publisher struct {
	opts   Options
	logger *slog.Logger

	mu       sync.Mutex
	conn     *amqp.Connection
	ch       *amqp.Channel
	declared map[string]bool
}

// NewPublisher returns a publisher; it does not connect yet.
func NewPublisher(opts Options, logger *slog.Logger) *Publisher {
	return &Publisher{opts: opts, logger: logger, declared: map[string]bool{}}
}

func (p *Publisher) connectLocked() error {
	if p.ch != nil && !p.ch.IsClosed() && p.conn != nil && !p.conn.IsClosed() {
		return nil
	}
	p.closeLocked()
	conn, err := dial(p.opts.URL)
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return fmt.Errorf("open broker channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		conn.Close()
		return fmt.Errorf("enable publisher confirms: %w", err)
	}
	if err := declareTopology(ch, p.opts.Exchange); err != nil {
		conn.Close()
		return err
	}
	p.conn, p.ch = conn, ch
	p.declared = map[string]bool{}
	return nil
}

func (p *Publisher) closeLocked() {
	if p.conn != nil {
		_ = p.conn.Close()
	}
	p.conn, p.ch = nil, nil
}

// Close closes the connection.
func (p *Publisher) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeLocked()
}

// EnsureQueues declares the given queues (durable, bound to the exchange).
func (p *Publisher) EnsureQueues(ctx context.Context, queues ...string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.connectLocked(); err != nil {
		return err
	}
	return p.ensureLocked(queues)
}

func (p *Publisher) ensureLocked(queues []string) error {
	var todo []string
	for _, q := range queues {
		if !p.declared[q] {
			todo = append(todo, q)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if err := declareTopology(p.ch, p.opts.Exchange, todo...); err != nil {
		p.closeLocked()
		return err
	}
	for _, q := range todo {
		p.declared[q] = true
	}
	return nil
}

// Publish sends every message to the queue it names (msg.Queue), persistent,
// and waits for the broker's confirms. It returns the indexes of the
// messages that were confirmed; the others must be treated as not sent. A
// non-nil error says why some were not.
func (p *Publisher) Publish(ctx context.Context, msgs []Message) (confirmed []int, err error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.connectLocked(); err != nil {
		return nil, err
	}
	queues := make([]string, 0, 4)
	seen := map[string]bool{}
	for _, m := range msgs {
		if !seen[m.Queue] {
			seen[m.Queue] = true
			queues = append(queues, m.Queue)
		}
	}
	if err := p.ensureLocked(queues); err != nil {
		return nil, err
	}
	confs := make([]*amqp.DeferredConfirmation, len(msgs))
	var firstErr error
	for i, m := range msgs {
		body, err := m.Encode()
		if err != nil {
			firstErr = errors.Join(firstErr, err)
			continue
		}
		dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, p.opts.Exchange, m.Queue, false, false, amqp.Publishing{
			ContentType:  "application/json",
			DeliveryMode: amqp.Persistent,
			Timestamp:    m.QueuedAt,
			Body:         body,
		})
		if err != nil {
			firstErr = errors.Join(firstErr, fmt.Errorf("publish to %s: %w", m.Queue, err))
			p.closeLocked()
			break
		}
		confs[i] = dc
	}
	for i, dc := range confs {
		if dc == nil {
			continue
		}
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			firstErr = errors.Join(firstErr, fmt.Errorf("wait for publish confirm: %w", err))
			p.closeLocked()
			break
		}
		if ok {
			confirmed = append(confirmed, i)
		} else if firstErr == nil {
			firstErr = fmt.Errorf("broker nacked a message to %s", msgs[i].Queue)
		}
	}
	return confirmed, firstErr
}
