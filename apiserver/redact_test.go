package apiserver

import "testing"

func TestRedactText(t *testing.T) {
	for _, c := range []struct {
		text      string
		sensitive bool
		known     []string
		want      string
	}{
		{"plain", false, nil, "plain"},
		{"plain", true, nil, "***"},
		{"", true, nil, "***"},
		{"uses pw-1234 here", false, []string{"pw-1234"}, "uses *** here"},
		{"ab", false, []string{"ab"}, "ab"}, // too short to mask inside text
		{`{"a":1,"b":[true,null],"c":"x"}`, false, nil, `{"a": 1, "b": [true, null], "c": "x"}`},
		{`{"z":1,"a":2}`, false, nil, `{"z": 1, "a": 2}`},
		{`{"password":"p","Token_x":{"k":"v","n":3},"list":[{"api_key":"k"}],"ok":"v"}`, false, nil,
			`{"password": "***", "Token_x": {"k": "***", "n": 3}, "list": [{"api_key": "***"}], "ok": "v"}`},
		{`{"a":"x"}`, true, nil, `{"a": "***"}`},
		{`"quoted"`, false, nil, `"quoted"`},
		{`12.50`, false, nil, `12.50`},
		{`{"s":"é\n\u0001😀\"\\/"}`, false, nil, `{"s": "\u00e9\n\u0001\ud83d\ude00\"\\/"}`},
		{`{"a":1} trailing`, false, nil, `{"a":1} trailing`},
		{`{"dsn":"x","h":"pw-1234@host"}`, false, []string{"pw-1234"}, `{"dsn": "x", "h": "***@host"}`},
	} {
		if got := redactText(c.text, c.sensitive, c.known...); got != c.want {
			t.Errorf("redactText(%q, %v) = %s, want %s", c.text, c.sensitive, got, c.want)
		}
	}
}

func TestMergeRedacted(t *testing.T) {
	for _, c := range []struct{ nw, old, want string }{
		{`{"password":"***","a":"new"}`, `{"password":"secret","a":"old"}`, `{"password": "secret", "a": "new"}`},
		{`{"password":"changed"}`, `{"password":"secret"}`, `{"password": "changed"}`},
		{`{"a":"***"}`, `{"a":"old"}`, `{"a": "***"}`},
		{`{"token":{"x":"***","y":"new"}}`, `{"token":{"x":"kept","y":"old"}}`, `{"token": {"x": "kept", "y": "new"}}`},
		{`{"secrets":["***","b"]}`, `{"secrets":["a","c","d"]}`, `{"secrets": ["a", "b"]}`},
		{`{"password":"***","added":1}`, `{}`, `{"password": "***", "added": 1}`},
	} {
		if got := mergeExtra(c.nw, c.old); got != c.want {
			t.Errorf("mergeExtra(%s, %s) = %s, want %s", c.nw, c.old, got, c.want)
		}
	}
}
