// Package updater keeps mini programs up to date the way the WeChat client
// does. It holds versions, the local package store, checking and
// downloading, the launch policy and its executor ([Executor], whose
// [Launch] runs one cold start as a state machine that asks a [Runner] for
// the work), the periodic checker's decisions, and what a client knows of
// releases: the signed release document and its verification. It never imports wazero: running a package is the runtime
// package's job, deciding which one to run is this one's.
//
// The client side of releases: a [Client] fetches a release document,
// verifies it offline against a public key it was given (see [Document],
// [VerifyDocument], [ParsePublicKey]) and downloads packages with a size
// bound, a sha256 check and resume, from a release server or a static
// export of one. The release side (the server, its admin API, export and
// document signing) is the updater/release package, which imports this one
// and is never imported by it.
package updater
