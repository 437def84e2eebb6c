package host

// What the external tests (package host_test) need of the package's
// insides.

// MaxOpenModals is maxOpenModals, the bound of one app's unanswered modals.
const MaxOpenModals = maxOpenModals
