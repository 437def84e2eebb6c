package release

import (
	"errors"
	"testing"

	"github.com/minihost/minihost/updater"
)

// TestAPIErrorCodes holds the server's error table and the clients' readers
// together: every code the server writes reads back as its sentinel through
// the admin client's error, and the updater package's HTTPError alone maps
// the codes of the updater sentinels (what a Client sees).
func TestAPIErrorCodes(t *testing.T) {
	own := map[error]bool{ErrInvalidPackage: true, ErrInvalidArgument: true, ErrRuleViolation: true, errServerClosed: true}
	for _, e := range apiErrors {
		t.Run(e.code, func(t *testing.T) {
			he := &updater.HTTPError{Method: "GET", URL: "http://x/", StatusCode: e.status, Message: "m", Code: e.code}
			err := error(&adminError{http: he, sentinel: errorForCode(e.code)})
			if !errors.Is(err, e.err) {
				t.Errorf("the admin client's error for code %q is not %v", e.code, e.err)
			}
			var got *updater.HTTPError
			if !errors.As(err, &got) || got != he || err.Error() != he.Error() {
				t.Errorf("the admin client's error %v does not carry its HTTPError", err)
			}
			if !own[e.err] && !errors.Is(he, e.err) {
				t.Errorf("updater.HTTPError with code %q is not %v", e.code, e.err)
			}
		})
	}
}
