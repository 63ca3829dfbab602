// Package connection is Airflow's Connection: its fields, its URI form
// (conn_type://login:password@host:port/schema?extra_key=value) and its
// environment form AIRFLOW_CONN_<ID>.
package connection

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Connection is one connection with its secrets in clear.
type Connection struct {
	ConnID      string `json:"conn_id"`
	ConnType    string `json:"conn_type"`
	Description string `json:"description"`
	Host        string `json:"host"`
	Schema      string `json:"schema"`
	Login       string `json:"login"`
	Password    string `json:"password"`
	Port        int    `json:"port,omitempty"`
	Extra       string `json:"extra"` // JSON object text, "" for none
}

// ParseURI reads Airflow's URI form. Query parameters become extra (the
// special __extra__ parameter holds a whole JSON extra).
func ParseURI(connID, uri string) (*Connection, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("connection %s: invalid URI: %w", connID, err)
	}
	if u.Scheme == "" {
		return nil, fmt.Errorf("connection %s: URI %q has no scheme (conn type)", connID, uri)
	}
	c := &Connection{ConnID: connID, ConnType: strings.ReplaceAll(u.Scheme, "-", "_"), Host: u.Hostname()}
	if u.User != nil {
		c.Login = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("connection %s: invalid port %q", connID, p)
		}
	}
	c.Schema = strings.TrimPrefix(u.Path, "/")
	q := u.Query()
	if raw := q.Get("__extra__"); raw != "" {
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return nil, fmt.Errorf("connection %s: __extra__ is not a JSON object: %w", connID, err)
		}
		c.Extra = raw
	} else if len(q) > 0 {
		m := map[string]string{}
		for k := range q {
			m[k] = q.Get(k)
		}
		b, _ := json.Marshal(m)
		c.Extra = string(b)
	}
	return c, nil
}

// URI renders the connection in Airflow's URI form.
func (c *Connection) URI() string {
	u := url.URL{Scheme: strings.ReplaceAll(c.ConnType, "_", "-"), Host: c.Host}
	if c.Port != 0 {
		u.Host = fmt.Sprintf("%s:%d", c.Host, c.Port)
	}
	if c.Login != "" || c.Password != "" {
		if c.Password != "" {
			u.User = url.UserPassword(c.Login, c.Password)
		} else {
			u.User = url.User(c.Login)
		}
	}
	if c.Schema != "" {
		u.Path = "/" + c.Schema
	}
	if ex := c.ExtraMap(); len(ex) > 0 {
		q := url.Values{}
		flat := true
		for k, v := range ex {
			s, ok := v.(string)
			if !ok {
				flat = false
				break
			}
			q.Set(k, s)
		}
		if !flat {
			q = url.Values{"__extra__": {c.Extra}}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// ExtraMap parses extra; a malformed one is empty.
func (c *Connection) ExtraMap() map[string]any {
	if strings.TrimSpace(c.Extra) == "" {
		return nil
	}
	var m map[string]any
	if json.Unmarshal([]byte(c.Extra), &m) != nil {
		return nil
	}
	return m
}

// EnvName is the variable a task sees the connection in, as Airflow's
// AIRFLOW_CONN_<CONN_ID>.
func EnvName(connID string) string { return "AIRFLOW_CONN_" + strings.ToUpper(connID) }

// Secrets returns the values to mask in logs: the password and the
// sensitive extra fields.
func (c *Connection) Secrets(sensitive func(string) bool) []string {
	var out []string
	if c.Password != "" {
		out = append(out, c.Password)
	}
	keys := make([]string, 0)
	ex := c.ExtraMap()
	for k := range ex {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if s, ok := ex[k].(string); ok && sensitive(k) {
			out = append(out, s)
		}
	}
	return out
}
