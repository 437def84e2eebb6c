package updater

// What the external tests (package updater_test) need of the package's
// insides.

// IsRevoked is (*Document).isRevoked, for the fuzz target.
var IsRevoked = (*Document).isRevoked
