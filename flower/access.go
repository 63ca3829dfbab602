package flower

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gust-sched/gust/auth"
)

// ParseBasicAuth reads Flower's basic_auth option, "user:password[,...]".
func ParseBasicAuth(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		user, pw, ok := strings.Cut(pair, ":")
		if !ok || user == "" || pw == "" {
			return nil, fmt.Errorf("[flower] basic_auth: want user:password[,user:password], got an entry without a user or password")
		}
		out[user] = pw
	}
	return out, nil
}

// NormalizePrefix turns Flower's url_prefix into "" or "/prefix".
func NormalizePrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return "/" + p
}

// CheckListen refuses an address beyond loopback with nobody to log in
// (neither basic_auth users nor the API's): the monitor controls workers.
func CheckListen(host string, basicAuth map[string]string, apiUsers bool) error {
	if len(basicAuth) > 0 || apiUsers {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("flower: listening on %s (beyond loopback) needs [flower] basic_auth or api_users", host)
}

// APILogin checks a user's password with the api-server (POST /auth/token,
// which counts failed logins and locks out guessing) and returns the token.
type APILogin func(ctx context.Context, username, password string) (string, error)

// NewAPILogin returns an APILogin against the api-server at base.
func NewAPILogin(base string) APILogin {
	client := &http.Client{Timeout: 10 * time.Second}
	return func(ctx context.Context, username, password string) (string, error) {
		body, _ := json.Marshal(map[string]string{"username": username, "password": password})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/auth/token", bytes.NewReader(body))
		if err != nil {
			return "", fmt.Errorf("log in with the api-server: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return "", fmt.Errorf("log in with the api-server: %w", err)
		}
		defer resp.Body.Close()
		var out struct {
			AccessToken string `json:"access_token"`
		}
		if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil || out.AccessToken == "" {
			return "", fmt.Errorf("log in with the api-server: %s", resp.Status)
		}
		return out.AccessToken, nil
	}
}

// apiLoginTTL is how long a password the api-server accepted is taken
// without asking again (the pages poll every few seconds).
const apiLoginTTL = time.Minute

type cachedLogin struct {
	who     caller
	expires time.Time
}

// apiUser checks a username and password with the api-server, through a
// cache of the recent successes keyed by a digest of both.
func (s *Server) apiUser(r *http.Request, user, pw string) (caller, bool) {
	key := sha256.Sum256([]byte(user + "\x00" + pw))
	s.loginMu.Lock()
	c, ok := s.logins[key]
	s.loginMu.Unlock()
	if ok && time.Now().Before(c.expires) {
		return c.who, true
	}
	tok, err := s.opts.APILogin(r.Context(), user, pw)
	if err != nil {
		return caller{}, false
	}
	cl, err := s.opts.Tokens.Verify(tok)
	if err != nil {
		s.logger.Warn("flower: the api-server's token does not verify with [api_auth] jwt_secret", "err", err)
		return caller{}, false
	}
	role, _ := auth.ParseRole(cl.Role)
	who := caller{name: user, control: role.Allows(auth.User)}
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	now := time.Now()
	for k, v := range s.logins { // keeps the cache to the live logins
		if now.After(v.expires) {
			delete(s.logins, k)
		}
	}
	s.logins[key] = cachedLogin{who: who, expires: now.Add(apiLoginTTL)}
	return who, true
}

type userKey struct{}

// caller is who made a request: a basic_auth user (who may control) or
// a REST API token's user with its role.
type caller struct {
	name    string
	control bool
}

func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(userKey{}).(caller)
	return c
}

// authenticate wraps h: with [flower] basic_auth or api_users set, every
// request but the health checks needs a basic_auth user, a user of the
// REST API (basic auth checked with the api-server) or one of its tokens
// (Authorization: Bearer, signed with [api_auth] jwt_secret); otherwise
// every caller is anonymous and may control (loopback only, see
// CheckListen).
func (s *Server) authenticate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.opts.BasicAuth) == 0 && s.opts.APILogin == nil {
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, caller{name: "anonymous", control: true})))
			return
		}
		if strings.HasSuffix(r.URL.Path, "/healthcheck") || strings.HasSuffix(r.URL.Path, "/healthz") {
			h.ServeHTTP(w, r)
			return
		}
		if c, ok := s.check(r); ok {
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, c)))
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="gust flower", charset="UTF-8"`)
		writeError(w, http.StatusUnauthorized, paramError("authentication required: a [flower] basic_auth user, a user of the REST API or its token"))
	})
}

func (s *Server) check(r *http.Request) (caller, bool) {
	if user, pw, ok := r.BasicAuth(); ok {
		if want, known := s.opts.BasicAuth[user]; known {
			// Compare digests, so that the time taken says nothing of the length.
			a, b := sha256.Sum256([]byte(pw)), sha256.Sum256([]byte(want))
			return caller{name: user, control: true}, subtle.ConstantTimeCompare(a[:], b[:]) == 1
		}
		if s.opts.APILogin != nil && s.opts.Tokens != nil && pw != "" {
			return s.apiUser(r, user, pw)
		}
		return caller{}, false
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && s.opts.Tokens != nil {
		if cl, err := s.opts.Tokens.Verify(strings.TrimSpace(tok)); err == nil {
			role, _ := auth.ParseRole(cl.Role)
			return caller{name: cl.Subject, control: role.Allows(auth.User)}, true
		}
	}
	return caller{}, false
}

// controlAllowed writes the refusal and returns false unless the caller
// may act on workers and tries: never in read-only mode, only for callers
// with the right, and only from this monitor's own pages or a non-browser
// client (a cross-site form cannot ride on the browser's credentials).
func (s *Server) controlAllowed(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.ReadOnly {
		writeError(w, http.StatusForbidden, paramError("this monitor is read-only ([flower] read_only)"))
		return false
	}
	if !callerOf(r.Context()).control {
		writeError(w, http.StatusForbidden, paramError("control needs a basic_auth user or the User role"))
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			writeError(w, http.StatusForbidden, paramError("cross-origin control requests are refused"))
			return false
		}
	} else if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		writeError(w, http.StatusForbidden, paramError("cross-origin control requests are refused"))
		return false
	}
	return true
}
