package broker

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gust-sched/gust/internal/testenv"
)

func TestNewManagement(t *testing.T) {
	m, err := NewManagement("auto", "amqp://u:p@rabbit:5672/my%2Fvhost")
	if err != nil || m.base.String() != "http://u:p@rabbit:15672/api/" || m.vhost != "my/vhost" {
		t.Fatalf("auto = %+v, %v", m, err)
	}
	if m, err = NewManagement("http://x:15672/api", "amqp://u:p@rabbit/"); err != nil || m.base.Path != "/api/" || m.vhost != "/" {
		t.Fatalf("explicit = %+v, %v", m, err)
	}
	if _, err := NewManagement("rabbit:15672", "amqp://rabbit/"); err == nil || !strings.Contains(err.Error(), "broker_api") {
		t.Errorf("bad broker_api: %v", err)
	}
}

// TestManagementQueues reads a vhost's task queues from RabbitMQ's real
// management API (scripts/ensure-services.sh enables it): ready and
// unacknowledged messages and consumers, without the exclusive reply queues.
func TestManagementQueues(t *testing.T) {
	t.Parallel()
	url := testenv.Vhost(t)
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := declareTopology(ch, "gust", "q1", "q2"); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("", false, true, true, false, nil); err != nil { // a reply queue
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := ch.Publish("gust", "q1", false, false, amqp.Publishing{Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	// One delivered, not acknowledged.
	if err := ch.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Consume("q1", "", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	m, err := NewManagement("auto", url)
	if err != nil {
		t.Fatal(err)
	}
	// The management API's figures lag by its statistics interval (5 s).
	testenv.Eventually(t, 30*time.Second, "the management API to see q1's messages", func() (bool, string) {
		qs, err := m.Queues(context.Background())
		if err != nil {
			return false, err.Error()
		}
		ok := len(qs) == 2
		for _, q := range qs {
			if q.Name == "q1" {
				ok = ok && q.Ready == 2 && q.Unacked == 1 && q.Consumers == 1
			}
		}
		return ok, fmt.Sprintf("%+v", qs)
	})
	bad, _ := NewManagement("http://guest:wrong@127.0.0.1:15672/api/", url)
	if _, err := bad.Queues(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong password: %v", err)
	}
}
