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
		{"einval", -1, ErrInvalid, "wx set_storage: invalid argument (EINVAL)"},
		{"enotfound", -2, ErrNotFound, "wx set_storage: no such storage key (ENOTFOUND)"},
		{"equota", -3, ErrQuota, "wx set_storage: storage quota exceeded (EQUOTA)"},
		{"eio", -4, ErrIO, "wx set_storage: host i/o error (EIO)"},
		{"etoobig", -5, ErrTooBig, "wx set_storage: argument too big (ETOOBIG)"},
		{"edenied", -6, ErrDenied, "wx set_storage: permission denied (EDENIED)"},
		{"ebusy", -7, ErrBusy, "wx set_storage: too many requests outstanding (EBUSY)"},
		{"enotready", -8, ErrNotReady, "wx set_storage: no update is ready (ENOTREADY)"},
		{"unknown", -9, -9, "wx set_storage: error code -9"},
		{"very negative", -1 << 31, -1 << 31, "wx set_storage: error code -2147483648"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := check("set_storage", tt.code)
			var e *Error
			if !errors.As(err, &e) || e.Op != "set_storage" || e.Code != abi.Code(tt.code) {
				t.Fatalf("check(%d) = %#v, want *Error{set_storage, %d}", tt.code, err, tt.code)
			}
			if got := err.Error(); got != tt.text {
				t.Errorf("Error() = %q, want %q", got, tt.text)
			}
			if got := errors.Unwrap(err); got != tt.want {
				t.Errorf("Unwrap() = %v, want %v", got, tt.want)
			}
			for _, s := range []abi.Code{ErrInvalid, ErrNotFound, ErrQuota, ErrIO, ErrTooBig, ErrDenied, ErrBusy, ErrNotReady} {
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
