package connection

import "testing"

func TestURIRoundTrip(t *testing.T) {
	c, err := ParseURI("my_db", "postgres://user:p%40ss@db.example.com:5432/analytics?sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	if c.ConnType != "postgres" || c.Login != "user" || c.Password != "p@ss" || c.Host != "db.example.com" || c.Port != 5432 || c.Schema != "analytics" {
		t.Fatalf("parsed %+v", c)
	}
	if c.ExtraMap()["sslmode"] != "require" {
		t.Errorf("extra %q", c.Extra)
	}
	back, err := ParseURI("my_db", c.URI())
	if err != nil || *back != *c {
		t.Errorf("round trip %+v -> %q -> %+v (%v)", c, c.URI(), back, err)
	}
	if EnvName("my_db") != "AIRFLOW_CONN_MY_DB" {
		t.Error(EnvName("my_db"))
	}
	if _, err := ParseURI("x", "no-scheme"); err == nil {
		t.Error("a URI without scheme was accepted")
	}
	h, _ := ParseURI("h", "google-cloud-platform://?__extra__=%7B%22nested%22%3A%7B%22a%22%3A1%7D%7D")
	if h.ConnType != "google_cloud_platform" || h.ExtraMap()["nested"] == nil {
		t.Errorf("nested extra: %+v", h)
	}
}
