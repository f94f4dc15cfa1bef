// Package stricttest holds the test assertion shared by the packages that
// decode with strict: their errors must name fields, in order.
package stricttest

import (
	"errors"
	"strings"
	"testing"

	"github.com/hadron-sched/hadron/driver/gpu/api/strict"
)

// CheckErr checks that err holds each of want in order, or is nil when
// want is empty, and that errors.As finds a strict.FieldError in it.
func CheckErr(t testing.TB, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	msg, rest := err.Error(), err.Error()
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("error %q lacks %q (or has it out of order)", msg, w)
		}
		rest = rest[i+len(w):]
	}
	var fe *strict.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T is not a *FieldError", err)
	}
}
