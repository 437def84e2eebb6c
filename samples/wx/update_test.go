package wx

import (
	"reflect"
	"testing"

	"github.com/minihost/minihost/samples/wx/abi"
)

func TestGetUpdateManagerRegistersOnce(t *testing.T) {
	var a guestApp
	calls := 0
	register := func() { calls++ }
	m := a.updateManager(register)
	if calls != 1 {
		t.Fatalf("first call registered %d times, want 1", calls)
	}
	for range 3 {
		if again := a.updateManager(register); again != m {
			t.Fatal("a later call returned a different manager")
		}
	}
	if calls != 1 {
		t.Errorf("registered %d times over four calls, want 1", calls)
	}
	if m != &a.updates {
		t.Error("the manager is not the one events are dispatched to")
	}
}

// recorder is an update manager whose handlers record what they saw.
func recorder(a *guestApp, got *[]string) *UpdateManager {
	m := a.updateManager(func() {})
	m.OnCheckForUpdate(func(has bool) {
		if has {
			*got = append(*got, "check1 true")
		} else {
			*got = append(*got, "check1 false")
		}
	})
	m.OnCheckForUpdate(func(bool) { *got = append(*got, "check2") })
	m.OnUpdateReady(func() { *got = append(*got, "ready1") })
	m.OnUpdateReady(func() { *got = append(*got, "ready2") })
	m.OnUpdateFailed(func() { *got = append(*got, "failed") })
	return m
}

func TestUpdateEvents(t *testing.T) {
	tests := []struct {
		name    string
		kind    uint32
		payload string
		code    int32
		want    []string
	}{
		{"has update", uint32(abi.EventUpdateCheck), `{"hasUpdate":true}`, resultOK, []string{"check1 true", "check2"}},
		{"no update", uint32(abi.EventUpdateCheck), `{"hasUpdate":false}`, resultOK, []string{"check1 false", "check2"}},
		{"unknown fields ignored", uint32(abi.EventUpdateCheck), `{"hasUpdate":true,"version":"2.0.0"}`, resultOK, []string{"check1 true", "check2"}},
		{"missing hasUpdate", uint32(abi.EventUpdateCheck), `{}`, resultBadPayload, nil},
		{"null hasUpdate", uint32(abi.EventUpdateCheck), `{"hasUpdate":null}`, resultBadPayload, nil},
		{"string hasUpdate", uint32(abi.EventUpdateCheck), `{"hasUpdate":"yes"}`, resultBadPayload, nil},
		{"check not JSON", uint32(abi.EventUpdateCheck), `{"hasUpdate":`, resultBadPayload, nil},
		{"check empty", uint32(abi.EventUpdateCheck), ``, resultBadPayload, nil},
		{"ready", uint32(abi.EventUpdateReady), ``, resultOK, []string{"ready1", "ready2"}},
		{"ready with a payload", uint32(abi.EventUpdateReady), `{"future":1}`, resultOK, []string{"ready1", "ready2"}},
		{"failed", uint32(abi.EventUpdateFailed), ``, resultOK, []string{"failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a guestApp
			var got []string
			recorder(&a, &got)
			a.event = append(a.event, func(string, []byte) { t.Error("custom handler ran") })
			ptr, n := deliver(t, &a, tt.payload)
			if code := a.onEvent(tt.kind, ptr, n); code != tt.code {
				t.Fatalf("onEvent(%d, %q) = %d, want %d", tt.kind, tt.payload, code, tt.code)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("handlers saw %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("bad pointer", func(t *testing.T) {
		var a guestApp
		var got []string
		recorder(&a, &got)
		ptr, _ := deliver(t, &a, `{"hasUpdate":true}`)
		if code := a.onEvent(uint32(abi.EventUpdateCheck), ptr+uintptr(len(a.payload)), 1); code != resultBadPointer {
			t.Errorf("onEvent = %d, want %d", code, resultBadPointer)
		}
		if got != nil {
			t.Errorf("handlers ran: %q", got)
		}
	})
}

func TestUpdateEventsWithoutHandlers(t *testing.T) {
	tests := []struct {
		name     string
		register bool
	}{
		{"never registered", false},
		{"registered, no handlers", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a guestApp
			if tt.register {
				a.updateManager(func() {})
			}
			ptr, n := deliver(t, &a, `not even JSON`)
			for _, kind := range []uint32{uint32(abi.EventUpdateCheck), uint32(abi.EventUpdateReady), uint32(abi.EventUpdateFailed)} {
				if code := a.onEvent(kind, ptr, n); code != resultOK {
					t.Errorf("kind %d: code %d, want 0", kind, code)
				}
				if code := a.onEvent(kind, 0, 0); code != resultOK {
					t.Errorf("kind %d, empty: code %d, want 0", kind, code)
				}
			}
		})
	}
}

func TestUpdateHandlerAddedDuringEvent(t *testing.T) {
	var a guestApp
	m := a.updateManager(func() {})
	var got []string
	// The check handler adds the ready handler and another check handler,
	// as a guest that reacts to hasUpdate might.
	m.OnCheckForUpdate(func(bool) {
		got = append(got, "check")
		m.OnCheckForUpdate(func(bool) { got = append(got, "late check") })
		m.OnUpdateReady(func() { got = append(got, "ready") })
	})
	ptr, n := deliver(t, &a, `{"hasUpdate":true}`)
	if code := a.onEvent(uint32(abi.EventUpdateCheck), ptr, n); code != resultOK {
		t.Fatalf("onEvent = %d", code)
	}
	if code := a.onEvent(uint32(abi.EventUpdateReady), 0, 0); code != resultOK {
		t.Fatalf("onEvent = %d", code)
	}
	if want := []string{"check", "ready"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q: a handler added during an event must see the next one only", got, want)
	}
}

func TestUpdateManagerNilHandler(t *testing.T) {
	var a guestApp
	m := a.updateManager(func() {})
	tests := []struct {
		name string
		add  func()
	}{
		{"OnCheckForUpdate", func() { m.OnCheckForUpdate(nil) }},
		{"OnUpdateReady", func() { m.OnUpdateReady(nil) }},
		{"OnUpdateFailed", func() { m.OnUpdateFailed(nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s(nil) did not panic", tt.name)
				}
			}()
			tt.add()
		})
	}
}
