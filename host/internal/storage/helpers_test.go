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
// the assert forms report and go on, returning whether the check held;
// the require forms are the assert forms that stop the test on failure.

// check reports a failure, described by format and args and prefixed by
// msg, unless ok; it returns ok.
func check(t testing.TB, ok bool, msg []any, format string, args ...any) bool {
	t.Helper()
	if ok {
		return true
	}
	s := fmt.Sprintf(format, args...)
	if len(msg) > 0 {
		s = fmt.Sprintf(fmt.Sprint(msg[0]), msg[1:]...) + ": " + s
	}
	t.Error(s)
	return false
}

// stopUnless ends the test when a check failed.
func stopUnless(t testing.TB, ok bool) {
	t.Helper()
	if !ok {
		t.FailNow()
	}
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

func assertEqual(t testing.TB, want, got any, msg ...any) bool {
	t.Helper()
	return check(t, reflect.DeepEqual(want, got), msg, "got %#v, want %#v", got, want)
}

func assertNotEqual(t testing.TB, a, b any, msg ...any) bool {
	t.Helper()
	return check(t, !reflect.DeepEqual(a, b), msg, "both are %#v", a)
}

func assertEmpty(t testing.TB, v any, msg ...any) bool {
	t.Helper()
	return check(t, isEmpty(v), msg, "%#v is not empty", v)
}

func assertLen(t testing.TB, v any, n int, msg ...any) bool {
	t.Helper()
	return check(t, length(v) == n, msg, "length %d, want %d", length(v), n)
}

func requireLen(t testing.TB, v any, n int, msg ...any) {
	t.Helper()
	stopUnless(t, assertLen(t, v, n, msg...))
}

func assertContains(t testing.TB, s, sub string, msg ...any) bool {
	t.Helper()
	return check(t, strings.Contains(s, sub), msg, "%q does not contain %q", s, sub)
}

func assertLessOrEqual(t testing.TB, a, b int64, msg ...any) bool {
	t.Helper()
	return check(t, a <= b, msg, "%d > %d", a, b)
}

func assertNoError(t testing.TB, err error, msg ...any) bool {
	t.Helper()
	return check(t, err == nil, msg, "unexpected error: %v", err)
}

func requireNoError(t testing.TB, err error, msg ...any) {
	t.Helper()
	stopUnless(t, assertNoError(t, err, msg...))
}

func requireError(t testing.TB, err error, msg ...any) {
	t.Helper()
	stopUnless(t, check(t, err != nil, msg, "no error"))
}

func assertErrorIs(t testing.TB, err, target error, msg ...any) bool {
	t.Helper()
	return check(t, errors.Is(err, target), msg, "error %v is not %v", err, target)
}

func requireErrorIs(t testing.TB, err, target error, msg ...any) {
	t.Helper()
	stopUnless(t, assertErrorIs(t, err, target, msg...))
}

func requireErrorContains(t testing.TB, err error, sub string, msg ...any) {
	t.Helper()
	stopUnless(t, check(t, err != nil && strings.Contains(err.Error(), sub), msg, "error %v does not contain %q", err, sub))
}
