package abi

import (
	"encoding/json"
	"testing"
)

func TestNames(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"code ok", CodeName(CodeOK), ""},
		{"first code", CodeName(CodeInvalid), "EINVAL"},
		{"code not found", CodeName(CodeNotFound), "ENOTFOUND"},
		{"last code", CodeName(CodeNotReady), "ENOTREADY"},
		{"past the last code", CodeName(CodeNotReady - 1), ""},
		{"positive code", CodeName(7), ""},
		{"most negative code", CodeName(-1 << 31), ""},
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
		want    bool
		wantErr bool
	}{
		{"true", `{"hasUpdate":true}`, true, false},
		{"false", `{"hasUpdate":false}`, false, false},
		{"unknown fields ignored", `{"hasUpdate":true,"version":"2.0.0"}`, true, false},
		{"missing", `{}`, false, true},
		{"null", `{"hasUpdate":null}`, false, true},
		{"not a boolean", `{"hasUpdate":"yes"}`, false, true},
		{"not JSON", `{"hasUpdate":`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u UpdateCheck
			err := json.Unmarshal([]byte(tt.payload), &u)
			if (err != nil) != tt.wantErr || u.HasUpdate != tt.want {
				t.Errorf("Unmarshal(%s) = %+v, %v; want HasUpdate %t, error %t", tt.payload, u, err, tt.want, tt.wantErr)
			}
		})
	}
	b, err := json.Marshal(UpdateCheck{HasUpdate: true})
	if err != nil || string(b) != `{"hasUpdate":true}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
}
