package storage

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Small assertion helpers, so the tests need nothing outside the standard
// library. Each takes an optional message (a format and its arguments);
// the assert forms report and go on, the require forms stop the test.

func fail(t testing.TB, fatal bool, msg []any, format string, args ...any) {
	t.Helper()
	s := fmt.Sprintf(format, args...)
	if len(msg) > 0 {
		s = fmt.Sprintf(fmt.Sprint(msg[0]), msg[1:]...) + ": " + s
	}
	if fatal {
		t.Fatal(s)
	}
	t.Error(s)
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.Map, reflect.Slice, reflect.String, reflect.Array, reflect.Chan:
		return r.Len() == 0
	}
	return r.IsZero()
}

func length(v any) int { return reflect.ValueOf(v).Len() }

func assertEqual(t testing.TB, want, got any, msg ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		fail(t, false, msg, "got %#v, want %#v", got, want)
	}
}

func assertNotEqual(t testing.TB, a, b any, msg ...any) {
	t.Helper()
	if reflect.DeepEqual(a, b) {
		fail(t, false, msg, "both are %#v", a)
	}
}

func assertEmpty(t testing.TB, v any, msg ...any) {
	t.Helper()
	if !isEmpty(v) {
		fail(t, false, msg, "%#v is not empty", v)
	}
}

func assertLen(t testing.TB, v any, n int, msg ...any) {
	t.Helper()
	if length(v) != n {
		fail(t, false, msg, "length %d, want %d", length(v), n)
	}
}

func requireLen(t testing.TB, v any, n int, msg ...any) {
	t.Helper()
	if length(v) != n {
		fail(t, true, msg, "length %d, want %d", length(v), n)
	}
}

func assertContains(t testing.TB, s, sub string, msg ...any) {
	t.Helper()
	if !strings.Contains(s, sub) {
		fail(t, false, msg, "%q does not contain %q", s, sub)
	}
}

func assertLessOrEqual(t testing.TB, a, b int64, msg ...any) {
	t.Helper()
	if a > b {
		fail(t, false, msg, "%d > %d", a, b)
	}
}

func assertNoError(t testing.TB, err error, msg ...any) {
	t.Helper()
	if err != nil {
		fail(t, false, msg, "unexpected error: %v", err)
	}
}

func requireNoError(t testing.TB, err error, msg ...any) {
	t.Helper()
	if err != nil {
		fail(t, true, msg, "unexpected error: %v", err)
	}
}

func requireError(t testing.TB, err error, msg ...any) {
	t.Helper()
	if err == nil {
		fail(t, true, msg, "no error")
	}
}

func assertErrorIs(t testing.TB, err, target error, msg ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		fail(t, false, msg, "error %v is not %v", err, target)
	}
}

func requireErrorIs(t testing.TB, err, target error, msg ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		fail(t, true, msg, "error %v is not %v", err, target)
	}
}

func requireErrorContains(t testing.TB, err error, sub string, msg ...any) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), sub) {
		fail(t, true, msg, "error %v does not contain %q", err, sub)
	}
}
