// Package updater keeps mini programs up to date the way the WeChat client
// does. It holds versions, the local package store, checking and
// downloading, the launch policy (a pure function), the periodic checker,
// the release server and its signed release documents. It never imports
// wazero: running a package is the runtime package's job, deciding which
// one to run is this one's.
//
// The release side: a [Server] stores published packages in a data folder
// and serves, per app, a release document signed with ed25519 (see
// [Document], [SignDocument], [VerifyDocument]) and the packages it names.
// A [Client] fetches and verifies documents against a public key it was
// given and downloads packages with a size bound, a sha256 check and resume.
// [Export] writes the same public tree as plain files for a static web
// server, CDN or bucket.
package updater
