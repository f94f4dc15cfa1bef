package strict

import (
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

type inner struct {
	N int `json:"n,omitempty"`
}

type embedded struct {
	Kind string `json:"kind,omitempty"`
}

type doc struct {
	embedded `json:",inline"`
	Name     string                       `json:"name"`
	Flag     bool                         `json:"flag,omitempty"`
	Ratio    float64                      `json:"ratio,omitempty"`
	Inner    *inner                       `json:"inner,omitempty"`
	List     []inner                      `json:"list,omitempty"`
	Map      map[string]resource.Quantity `json:"map,omitempty"`
	Q        *resource.Quantity           `json:"q,omitempty"`
	Any      any                          `json:"any,omitempty"`
	Skipped  string                       `json:"-"`
	unexp    string                       //nolint:unused // only there to show that unexported fields are never decoded
}

func TestToJSON(t *testing.T) {
	tests := []struct {
		name, in, want, err string
	}{
		{name: "JSON kept", in: ` {"a": 1} `, want: `{"a": 1}`},
		{name: "YAML converted", in: "a: 1\nb: [x]\n", want: `{"a":1,"b":["x"]}`},
		{name: "empty", in: "", want: "null"},
		{name: "comments only", in: "# x\n\n# y\n", want: "null"},
		{name: "leading marker", in: "---\na: 1\n", want: `{"a":1}`},
		{name: "marker with comment", in: "--- # doc\na: 1\n...\n", want: `{"a":1}`},
		{name: "trailing empty document", in: "a: 1\n---\n", want: `{"a":1}`},
		{name: "too large", in: strings.Repeat(" ", 101), err: "101 bytes, more than the limit of 100"},
		{name: "bad JSON", in: `{"a": }`, err: "invalid JSON at byte 7"},
		{name: "JSON trailing data", in: `{"a": 1} x`, err: "invalid JSON at byte"},
		{name: "YAML flow top level after comment", in: "# c\n{a: 1} x\n", err: "flow collection"},
		{name: "YAML flow top level after marker", in: "--- [1] x\n", err: "flow collection"},
		{name: "YAML flow top level with a tag", in: "!!map {a: 1} x\n", err: "flow collection"},
		{name: "YAML flow top level with an anchor", in: "&a\t[1] x\n", err: "flow collection"},
		{name: "YAML flow top level after BOM", in: "\ufeff{\"a\": 1} x\n", err: "flow collection"},
		{name: "YAML flow top level after directive", in: "%YAML 1.1\n---\n{a: 1} x\n", err: "flow collection"},
		{name: "YAML directive", in: "%YAML 1.1\n---\na: 1\n", want: `{"a":1}`},
		{name: "nested flow is fine", in: "a: {b: [1]}\n", want: `{"a":{"b":[1]}}`},
		{name: "two documents", in: "a: 1\n---\nb: 2\n", err: "more than one YAML document"},
		{name: "content after document end", in: "a: 1\n...\nb: 2\n", err: "more than one YAML document"},
		{name: "duplicate YAML key", in: "a: 1\na: 2\n", err: "invalid YAML"},
		{name: "bad YAML", in: "a: [\n", err: "invalid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToJSON([]byte(tt.in), 100)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestUnmarshal(t *testing.T) {
	tests := []struct {
		name, in, err string
		check         func(t *testing.T, d *doc)
	}{
		{name: "everything", in: `{"kind":"K","name":"x","flag":true,"ratio":0.5,"inner":{"n":3},"list":[{"n":1},{}],"map":{"a":"1Gi"},"q":2048,"any":[1,"x"]}`,
			check: func(t *testing.T, d *doc) {
				if d.Kind != "K" || d.Name != "x" || !d.Flag || d.Ratio != 0.5 || d.Inner.N != 3 || len(d.List) != 2 || d.List[0].N != 1 {
					t.Errorf("decoded %+v", d)
				}
				if q := d.Map["a"]; q.Value() != 1<<30 || d.Q.Value() != 2048 {
					t.Errorf("quantities %v %v", d.Map, d.Q)
				}
			}},
		{name: "null clears pointers and keeps values", in: `{"name":null,"inner":null,"map":null}`, check: func(t *testing.T, d *doc) {
			if d.Name != "preset" || d.Inner != nil || d.Map != nil {
				t.Errorf("decoded %+v", d)
			}
		}},
		{name: "unknown field", in: `{"nmea":"x"}`, err: "nmea: unknown field; known fields here are any, flag, inner, kind, list, map, name, q, ratio"},
		{name: "case differs", in: `{"Name":"x"}`, err: `Name: unknown field; did you mean "name"?`},
		{name: "ignored field is unknown", in: `{"Skipped":"x"}`, err: "Skipped: unknown field"},
		{name: "unexported field is unknown", in: `{"unexp":"x"}`, err: "unexp: unknown field"},
		{name: "unknown nested", in: `{"list":[{"n":1},{"m":2}]}`, err: "list[1].m: unknown field; known fields here are n"},
		{name: "duplicate field", in: `{"name":"a","name":"b"}`, err: "name: given more than once"},
		{name: "duplicate map key", in: `{"map":{"a b":"1","a b":"2"}}`, err: `map["a b"]: given more than once`},
		{name: "string for int", in: `{"inner":{"n":"3"}}`, err: "inner.n: must be an integer, not a string"},
		{name: "overflow", in: `{"inner":{"n":1e40}}`, err: "inner.n: 1e40 is not an integer that fits Go type int"},
		{name: "number for string", in: `{"name":4090}`, err: `name: must be a string, not a number (quote it: "4090")`},
		{name: "bool for string", in: `{"name":true}`, err: "name: must be a string, not a boolean (YAML reads"},
		{name: "object for bool", in: `{"flag":{}}`, err: "flag: must be true or false, not an object"},
		{name: "list for object", in: `{"inner":[]}`, err: "inner: must be an object, not an array"},
		{name: "object for list", in: `{"list":{}}`, err: "list: must be a list, not an object"},
		{name: "bad quantity", in: `{"q":"1 Gi"}`, err: `q: invalid quantity "1 Gi"`},
		{name: "quantity list", in: `{"q":[]}`, err: "q: must be a quantity"},
		{name: "slow quantity", in: `{"q":"1e-9999999"}`, err: "exponent has more than 2 digits"},
		{name: "long quantity", in: `{"q":"` + strings.Repeat("1", 41) + `"}`, err: "longer than 40 characters"},
		{name: "not an object", in: `"x"`, err: "must be an object, not a string"},
		{name: "invalid JSON", in: `{"name":`, err: "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &doc{Name: "preset", Map: map[string]resource.Quantity{}}
			start := time.Now()
			err := Unmarshal([]byte(tt.in), d)
			if time.Since(start) > time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				var fe *FieldError
				if !errors.As(err, &fe) {
					t.Fatalf("%T is not a *FieldError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, d)
		})
	}
}

func TestUnmarshalNeedsPointer(t *testing.T) {
	for _, into := range []any{nil, doc{}, (*doc)(nil)} {
		if err := Unmarshal([]byte(`{}`), into); err == nil {
			t.Errorf("Unmarshal into %T succeeded", into)
		}
	}
	var ch chan int
	if err := Unmarshal([]byte(`1`), &ch); err == nil || !strings.Contains(err.Error(), "internal error") {
		t.Errorf("unsupported type: %v", err)
	}
}

func TestErrorList(t *testing.T) {
	var l ErrorList
	if l.Err() != nil {
		t.Fatal("empty list is an error")
	}
	l.Add("a", "bad %d", 1)
	// A single error must be the FieldError itself, not a wrapper.
	if fe, ok := l.Err().(*FieldError); !ok || fe.Error() != "a: bad 1" { //nolint:errorlint // see above
		t.Fatalf("one-error list is %#v", l.Err())
	}
	l.Add("", "whole")
	if got := l.Err().Error(); got != "a: bad 1; whole" {
		t.Fatalf("list error %q", got)
	}
	var fe *FieldError
	if !errors.As(l.Err(), &fe) || fe.Path != "a" {
		t.Fatal("errors.As does not find the first FieldError")
	}
	for i := range 20 {
		l.Add(Index("x", i), "bad")
	}
	if got := l.Error(); !strings.HasSuffix(got, "x[7]: bad; and 12 more problems") {
		t.Fatalf("long list error %q", got)
	}
}

func TestPaths(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{Child("", "a"), "a"},
		{Child("a", "b"), "a.b"},
		{Index("a", 2), "a[2]"},
		{Key("m", "GPU-1/2_3.x"), "m[GPU-1/2_3.x]"},
		{Key("m", "a]b"), `m["a]b"]`},
		{Key("m", ""), `m[""]`},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
