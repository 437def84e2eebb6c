package release

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
