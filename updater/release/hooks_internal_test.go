package release

// ReadHeaderTimeout exposes readHeaderTimeout (Serve's, not configurable)
// to the external load test in server_load_test.go.
const ReadHeaderTimeout = readHeaderTimeout
