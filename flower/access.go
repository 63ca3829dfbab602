package flower

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

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

// CheckListen refuses an address beyond loopback with nobody to log in:
// the monitor controls workers.
func CheckListen(host string, basicAuth map[string]string) error {
	if len(basicAuth) > 0 {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("flower: listening on %s (beyond loopback) needs [flower] basic_auth (GUST__FLOWER__BASIC_AUTH)", host)
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

// authenticate wraps h: with [flower] basic_auth set, every request but
// the health checks needs one of its users or a token of the REST API
// (Authorization: Bearer, signed with [api_auth] jwt_secret); without it,
// every caller is anonymous and may control (loopback only, see
// CheckListen).
func (s *Server) authenticate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.opts.BasicAuth) == 0 {
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
		writeError(w, http.StatusUnauthorized, paramError("authentication required: a [flower] basic_auth user or a REST API token"))
	})
}

func (s *Server) check(r *http.Request) (caller, bool) {
	if user, pw, ok := r.BasicAuth(); ok {
		want, known := s.opts.BasicAuth[user]
		// Compare digests, so that the time taken says nothing of the length.
		a, b := sha256.Sum256([]byte(pw)), sha256.Sum256([]byte(want))
		if subtle.ConstantTimeCompare(a[:], b[:]) == 1 && known {
			return caller{name: user, control: true}, true
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
