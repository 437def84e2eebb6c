package host

// What the external tests (package host_test) need of the package's
// insides.

// MaxOpenModals is maxOpenModals, the bound of one app's unanswered modals.
const MaxOpenModals = maxOpenModals

// EngineCacheDir returns the compile cache folder of the engine h's apps
// share ("" when it fell back to memory).
func EngineCacheDir(h *Host) string { return h.engine.CacheDir() }
