package release

import "bytes"

// ReadHeaderTimeout exposes readHeaderTimeout (Serve's, not configurable)
// to the external load test in server_load_test.go.
const ReadHeaderTimeout = readHeaderTimeout

// HeldRequests exposes how many document requests are in the push path
// now, so tests wait for a hold instead of sleeping.
func (s *Server) HeldRequests() int64 { return s.waiters.Load() }

// ErrOldKeyFormat and ErrKeyMismatch expose the signing key errors (each an
// updater.ErrInvalidKey with its own message) to keyfile_test.go.
const (
	ErrOldKeyFormat = errOldKeyFormat
	ErrKeyMismatch  = errKeyMismatch
)

// DocumentBytes returns the signed release document the server serves for
// appID now (the envelope), re-signing it if due: what GET
// .../release.json answers, without a request (and without counting a
// fetch).
func (s *Server) DocumentBytes(appID string) ([]byte, error) {
	d, err := s.document(appID)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(d.body), nil
}
