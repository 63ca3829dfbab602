package flower

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/monitor"
	"github.com/gust-sched/gust/internal/testenv"
)

func TestParseBasicAuthAndListen(t *testing.T) {
	users, err := ParseBasicAuth(" ann:pw1, bob:p:w2 ")
	if err != nil || len(users) != 2 || users["ann"] != "pw1" || users["bob"] != "p:w2" {
		t.Fatalf("ParseBasicAuth = %v, %v", users, err)
	}
	for _, bad := range []string{"ann", "ann:", ":pw"} {
		if _, err := ParseBasicAuth(bad); err == nil || !strings.Contains(err.Error(), "basic_auth") {
			t.Errorf("ParseBasicAuth(%q) = %v, want an error naming the option", bad, err)
		}
	}
	for host, ok := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "0.0.0.0": false, "10.1.2.3": false} {
		if err := CheckListen(host, nil, false); (err == nil) != ok {
			t.Errorf("CheckListen(%s) without users = %v", host, err)
		}
		if err := CheckListen(host, users, false); err != nil {
			t.Errorf("CheckListen(%s) with users = %v", host, err)
		}
	}
	for in, want := range map[string]string{"": "", "/": "", "flower": "/flower", "/a/b/": "/a/b"} {
		if got := NormalizePrefix(in); got != want {
			t.Errorf("NormalizePrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAccess: with basic_auth, every page and API call needs a user or a
// REST API token (control needs the User role), health checks stay open;
// read-only refuses control and hides it; url_prefix serves everything
// under its path; a cross-site control request is refused.
func TestAccess(t *testing.T) {
	url, prefix := testenv.Redis(t)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tokens, err := auth.NewTokens("a-test-secret-that-is-long-enough-for-hs512", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	viewer, _ := tokens.Issue("vic", auth.Viewer)
	user, _ := tokens.Issue("uma", auth.User)
	other, _ := auth.NewTokens("another-secret-that-is-long-enough-for-hs512", time.Hour)
	forged, _ := other.Issue("eve", auth.Admin)
	reader := monitor.NewReader(rdb, prefix, time.Minute)

	type req struct {
		method, path, auth, token, origin string
		want                              int
	}
	run := func(t *testing.T, h http.Handler, cases []req) {
		t.Helper()
		for _, c := range cases {
			r := httptest.NewRequest(c.method, c.path, nil)
			if u, pw, ok := strings.Cut(c.auth, ":"); ok {
				r.SetBasicAuth(u, pw)
			}
			if c.token != "" {
				r.Header.Set("Authorization", "Bearer "+c.token)
			}
			if c.origin != "" {
				r.Header.Set("Origin", c.origin)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.want {
				t.Errorf("%s %s (auth %q, token %v, origin %q): %d %s, want %d", c.method, c.path, c.auth, c.token != "", c.origin, w.Code, w.Body, c.want)
			}
			if w.Code == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: 401 without WWW-Authenticate", c.method, c.path)
			}
		}
	}
	users := map[string]string{"admin": "s3cret"}
	t.Run("basic_auth", func(t *testing.T) {
		h := New(Options{BasicAuth: users, Tokens: tokens}, reader, logger).Handler()
		run(t, h, []req{
			{"GET", "/api/workers", "", "", "", 401},
			{"GET", "/", "", "", "", 401},
			{"GET", "/metrics", "", "", "", 401},
			{"GET", "/api/workers", "admin:wrong", "", "", 401},
			{"GET", "/api/workers", "nobody:s3cret", "", "", 401},
			{"GET", "/api/workers", "admin:s3cret", "", "", 200},
			{"GET", "/", "admin:s3cret", "", "", 200},
			{"GET", "/healthcheck", "", "", "", 200},
			{"GET", "/api/workers", "", viewer, "", 200},
			{"GET", "/api/workers", "", forged, "", 401},
			// Control: a Viewer's token may not; a User's and a basic_auth user's
			// reach the handler (no broker here: 503).
			{"POST", "/api/worker/pool/grow/w1", "", viewer, "", 403},
			{"POST", "/api/worker/pool/grow/w1", "", user, "", 503},
			{"POST", "/api/worker/pool/grow/w1", "admin:s3cret", "", "", 503},
			{"POST", "/api/worker/pool/grow/w1", "admin:s3cret", "", "http://127.0.0.1:5555", 403},
		})
	})
	t.Run("api_users", func(t *testing.T) {
		calls := 0
		login := func(_ context.Context, u, pw string) (string, error) {
			calls++
			if u == "vic" && pw == "pw" {
				return viewer, nil
			}
			if u == "uma" && pw == "pw" {
				return user, nil
			}
			return "", errors.New("401 Unauthorized")
		}
		h := New(Options{APILogin: login, Tokens: tokens}, reader, logger).Handler()
		run(t, h, []req{
			{"GET", "/api/workers", "vic:pw", "", "", 200},
			{"GET", "/api/workers", "vic:pw", "", "", 200},
			{"GET", "/api/workers", "vic:nope", "", "", 401},
			{"POST", "/api/worker/shutdown/w1", "vic:pw", "", "", 403},
			{"POST", "/api/worker/shutdown/w1", "uma:pw", "", "", 503},
			{"GET", "/api/workers", "", "", "", 401},
		})
		if calls != 3 {
			t.Errorf("the api-server was asked %d times, want 3 (a password it accepted is kept a minute)", calls)
		}
	})
	t.Run("same-origin control", func(t *testing.T) {
		h := New(Options{BasicAuth: users}, reader, logger).Handler()
		// httptest's requests are for example.com.
		run(t, h, []req{{"POST", "/api/worker/shutdown/w1", "admin:s3cret", "", "http://example.com", 503}})
	})
	t.Run("read_only", func(t *testing.T) {
		h := New(Options{ReadOnly: true}, reader, logger).Handler()
		run(t, h, []req{
			{"GET", "/api/workers", "", "", "", 200},
			{"POST", "/api/worker/shutdown/w1", "", "", "", 403},
			{"POST", "/api/task/revoke/x?terminate=true", "", "", "", 403},
		})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if !strings.Contains(w.Body.String(), `data-read-only="true"`) {
			t.Errorf("the page does not know it is read-only:\n%s", w.Body)
		}
	})
	t.Run("url_prefix", func(t *testing.T) {
		h := New(Options{URLPrefix: "/flower/"}, reader, logger).Handler()
		run(t, h, []req{
			{"GET", "/flower/api/workers", "", "", "", 200},
			{"GET", "/flower/static/flower.js", "", "", "", 200},
			{"GET", "/flower", "", "", "", 301},
			{"GET", "/api/workers", "", "", "", 404},
		})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/flower/", nil))
		if w.Code != 200 || !strings.Contains(w.Body.String(), `<base href="/flower/">`) {
			t.Errorf("GET /flower/: %d\n%s", w.Code, w.Body)
		}
	})
}
