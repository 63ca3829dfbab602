package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

// principal is the authenticated caller of a request.
type principal struct {
	Username string
	Role     auth.Role
}

type principalKey struct{}

func caller(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

// handlerFunc is a handler that returns its error for fail to answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// router registers /api/v2 routes with the role each needs.
type router struct {
	mux *http.ServeMux
	s   *Server
}

// public registers a route that needs no token (as Airflow's version and
// health endpoints).
func (rt *router) public(pattern string, h handlerFunc) {
	rt.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			rt.s.fail(w, r, err)
		}
	})
}

// handle registers a route for callers with at least role need.
func (rt *router) handle(pattern string, need auth.Role, h handlerFunc) {
	rt.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := rt.s.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", "Bearer")
			rt.s.fail(w, r, err)
			return
		}
		if !p.Role.Allows(need) {
			writeError(w, http.StatusForbidden, "Forbidden")
			return
		}
		if err := h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p))); err != nil {
			rt.s.fail(w, r, err)
		}
	})
}

// authenticate checks the bearer token and that its user still exists and
// is active, taking the user's current role (a demoted or deleted user's
// token stops working at once).
func (s *Server) authenticate(r *http.Request) (principal, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		// The web UI's cookie: reads need nothing more; a write must
		// carry the CSRF cookie's value in X-CSRF-Token (double submit),
		// which a cross-site form or fetch cannot read.
		c, err := r.Cookie(tokenCookie)
		if err != nil || c.Value == "" {
			return principal{}, errorf(http.StatusUnauthorized, "Not authenticated")
		}
		if safe := r.Method == http.MethodGet || r.Method == http.MethodHead; !safe && !csrfOK(r) {
			return principal{}, errorf(http.StatusForbidden, "CSRF token missing or invalid: send the _csrf cookie's value in X-CSRF-Token")
		}
		token = c.Value
	}
	claims, err := s.tokens.Verify(strings.TrimSpace(token))
	if err != nil {
		return principal{}, errorf(http.StatusUnauthorized, "Invalid JWT token")
	}
	u, err := metadb.GetUser(r.Context(), s.db.Pool, claims.Subject)
	if errors.Is(err, metadb.ErrNotFound) || (err == nil && !u.Active) {
		return principal{}, errorf(http.StatusUnauthorized, "Invalid JWT token")
	}
	if err != nil {
		return principal{}, err
	}
	role, err := auth.ParseRole(u.Role)
	if err != nil {
		return principal{}, err
	}
	return principal{Username: u.Username, Role: role}, nil
}

// tokenCookie carries the token for the web UI (HTTP-only).
const tokenCookie = "_token"

// loginBody is POST /auth/token's body (JSON or form).
type loginBody struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// postToken issues a token for a username and password: 201
// {"access_token": ...}, as Airflow 3's simple auth manager. Failed logins
// are counted per user across api-servers and slowed down.
func (s *Server) postToken(w http.ResponseWriter, r *http.Request) {
	var body loginBody
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.fail(w, r, invalid("could not read the form", "value_error", "body"))
			return
		}
		body.Username, body.Password = r.PostForm.Get("username"), r.PostForm.Get("password")
	} else if err := decodeBody(r, &body, "username", "password"); err != nil {
		s.fail(w, r, err)
		return
	}
	token, err := s.login(r.Context(), body.Username, body.Password)
	if err != nil {
		var le *loginError
		if errors.As(err, &le) && le.retryAfter != "" {
			w.Header().Set("Retry-After", le.retryAfter)
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"access_token": token})
}

// loginError is a refused login: its status and detail, and for a locked
// user the seconds to wait.
type loginError struct {
	httpError
	retryAfter string
}

func (e *loginError) Unwrap() error { return &e.httpError }

// login checks a username and password and returns a token for the user.
// Failed logins are counted per user across api-servers and slowed down.
// A refusal is a *loginError (401, or 429 while the user is locked out).
func (s *Server) login(ctx context.Context, username, password string) (string, error) {
	refused := &loginError{httpError: httpError{status: http.StatusUnauthorized, detail: "Invalid credentials"}}
	if username == "" || password == "" {
		return "", refused
	}
	ls, err := metadb.GetLoginState(ctx, s.db.Pool, username)
	if err != nil && !errors.Is(err, metadb.ErrNotFound) {
		return "", fmt.Errorf("login %s: %w", username, err)
	}
	if ls != nil && ls.LockedUntil != nil && ls.LockedUntil.After(s.now()) {
		wait := time.Until(*ls.LockedUntil).Round(time.Second)
		return "", &loginError{httpError: httpError{status: http.StatusTooManyRequests,
			detail: "Too many failed logins for this user; try again in " + wait.String()},
			retryAfter: strings.TrimSuffix(wait.String(), "s")}
	}
	hash := ""
	if ls != nil && ls.User.Active {
		hash = ls.PasswordHash
	}
	if !auth.CheckPassword(hash, password) {
		if ls != nil {
			if err := metadb.RecordFailedLogin(ctx, s.db.Pool, username); err != nil {
				s.logger.Warn("cannot count a failed login", "err", err)
			}
		}
		return "", refused
	}
	role, err := auth.ParseRole(ls.User.Role)
	if err != nil {
		return "", fmt.Errorf("login %s: %w", username, err)
	}
	token, err := s.tokens.Issue(ls.User.Username, role)
	if err != nil {
		return "", fmt.Errorf("login %s: %w", username, err)
	}
	if err := metadb.RecordLogin(ctx, s.db.Pool, ls.User.Username); err != nil {
		s.logger.Warn("cannot record a login", "err", err)
	}
	return token, nil
}

// audit appends an event for the caller's write; a failure to record is
// logged, not returned: the write itself has happened.
func (s *Server) audit(r *http.Request, event string, e metadb.Event, extra any) {
	owner := caller(r.Context()).Username
	e.Event, e.Owner = event, &owner
	if extra != nil {
		if b, err := json.Marshal(extra); err == nil {
			x := string(b)
			e.Extra = &x
		}
	}
	if err := metadb.AddEvent(context.WithoutCancel(r.Context()), s.db.Pool, &e); err != nil {
		s.logger.Warn("cannot record an audit event", "event", event, "err", err)
	}
}

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
