package wx

import (
	"errors"
	"testing"

	"github.com/minihost/minihost/samples/wx/abi"
)

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		name string
		code int32
		want abi.Code
		text string
	}{
		{"einval", -1, abi.CodeInvalid, "wx set_storage: invalid argument (EINVAL)"},
		{"enotfound", -2, abi.CodeNotFound, "wx set_storage: no such storage key (ENOTFOUND)"},
		{"equota", -3, abi.CodeQuota, "wx set_storage: storage quota exceeded (EQUOTA)"},
		{"eio", -4, abi.CodeIO, "wx set_storage: host i/o error (EIO)"},
		{"etoobig", -5, abi.CodeTooBig, "wx set_storage: argument too big (ETOOBIG)"},
		{"edenied", -6, abi.CodeDenied, "wx set_storage: permission denied (EDENIED)"},
		{"ebusy", -7, abi.CodeBusy, "wx set_storage: too many requests outstanding (EBUSY)"},
		{"enotready", -8, abi.CodeNotReady, "wx set_storage: no update is ready (ENOTREADY)"},
		{"unknown", -9, -9, "wx set_storage: error code -9"},
		{"very negative", -1 << 31, -1 << 31, "wx set_storage: error code -2147483648"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := check("set_storage", tt.code)
			var e *hostError
			if !errors.As(err, &e) || e.op != "set_storage" || e.code != abi.Code(tt.code) {
				t.Fatalf("check(%d) = %#v, want *hostError{set_storage, %d}", tt.code, err, tt.code)
			}
			var c abi.Code
			if !errors.As(err, &c) || c != abi.Code(tt.code) {
				t.Errorf("errors.As(err, *abi.Code) = %v, want %d", c, tt.code)
			}
			if got := err.Error(); got != tt.text {
				t.Errorf("Error() = %q, want %q", got, tt.text)
			}
			if got := errors.Unwrap(err); got != tt.want {
				t.Errorf("Unwrap() = %v, want %v", got, tt.want)
			}
			for _, s := range []abi.Code{abi.CodeInvalid, abi.CodeNotFound, abi.CodeQuota, abi.CodeIO, abi.CodeTooBig, abi.CodeDenied, abi.CodeBusy, abi.CodeNotReady} {
				if is := errors.Is(err, s); is != (s == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %t", err, s, is)
				}
			}
		})
	}
}

func TestCheckSuccess(t *testing.T) {
	for _, code := range []int32{0, 1, 7, 1 << 30} {
		if err := check("show_modal", code); err != nil {
			t.Errorf("check(%d) = %v, want nil", code, err)
		}
	}
}
