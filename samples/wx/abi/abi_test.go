package abi

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func TestNames(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"code ok", Code(0).Error(), "error code 0"},
		{"first code", CodeInvalid.Error(), "invalid argument (EINVAL)"},
		{"code not found", CodeNotFound.Error(), "no such storage key (ENOTFOUND)"},
		{"last code", CodeNotReady.Error(), "no update is ready (ENOTREADY)"},
		{"past the last code", (CodeNotReady - 1).Error(), "error code -9"},
		{"positive code", Code(7).Error(), "error code 7"},
		{"most negative code", Code(-1 << 31).Error(), "error code -2147483648"},
		{"debug", LevelDebug.String(), "debug"},
		{"info", LevelInfo.String(), "info"},
		{"warn", LevelWarn.String(), "warn"},
		{"error", LevelError.String(), "error"},
		{"unknown level", LogLevel(9).String(), "level(9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestUpdateCheckJSON(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    string // HasUpdate decoded: "true", "false" or "nil"; "" when it fails
		wantErr bool
	}{
		{"true", `{"hasUpdate":true}`, "true", false},
		{"false", `{"hasUpdate":false}`, "false", false},
		{"unknown fields ignored", `{"hasUpdate":true,"version":"2.0.0"}`, "true", false},
		{"missing", `{}`, "nil", false},
		{"null", `{"hasUpdate":null}`, "nil", false},
		{"not a boolean", `{"hasUpdate":"yes"}`, "", true},
		{"not JSON", `{"hasUpdate":`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u UpdateCheck
			err := json.Unmarshal([]byte(tt.payload), &u)
			got := "nil"
			if err != nil {
				got = ""
			} else if u.HasUpdate != nil {
				got = fmt.Sprint(*u.HasUpdate)
			}
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("Unmarshal(%s) = %s, %v; want HasUpdate %s, error %t", tt.payload, got, err, tt.want, tt.wantErr)
			}
		})
	}
	yes := true
	b, err := json.Marshal(UpdateCheck{HasUpdate: &yes})
	if err != nil || string(b) != `{"hasUpdate":true}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
}

func TestCodeIsError(t *testing.T) {
	wrapped := fmt.Errorf("set %q: %w", "k", CodeQuota)
	all := []Code{CodeInvalid, CodeNotFound, CodeQuota, CodeIO, CodeTooBig, CodeDenied, CodeBusy, CodeNotReady}
	tests := []struct {
		name string
		err  error
		want Code // what errors.As finds, and the only code errors.Is matches
	}{
		{"bare code", CodeQuota, CodeQuota},
		{"wrapped code", wrapped, CodeQuota},
		{"joined code", errors.Join(errors.New("disk full"), CodeIO), CodeIO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Code
			if !errors.As(tt.err, &c) || c != tt.want {
				t.Errorf("errors.As(%v) = %v, want %v", tt.err, c, tt.want)
			}
			for _, code := range all {
				if got := errors.Is(tt.err, code); got != (code == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %t", tt.err, code, got)
				}
			}
		})
	}
	if got, want := wrapped.Error(), `set "k": storage quota exceeded (EQUOTA)`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
