// Package release is the release side of minihost's updates, the WeChat
// "management background": a [Server] stores published packages in a data
// folder and serves, per app, a release document signed with ed25519 (which
// updater.VerifyDocument checks) and the packages it names, plus an admin
// API (publish, settings, revert, versions). [Admin] is that API in Go: a
// *Server is one in process, and [NewAdminClient] returns one that drives a
// server over HTTP. Uploads pass the server's own package checks and then
// a [Validator] the server is given ([NoValidation] skips it explicitly),
// so a module no host can run is never published. [Export] writes the same
// public tree as plain files for a static web server, CDN or bucket. The
// signing key files are read and written here ([LoadPrivateKey],
// [EncodePrivateKey], [ConvertKeyFile]).
//
// It builds on the updater package (documents, releases, public keys, the
// client's errors) and never the other way round: an app host that embeds
// the host package links the client side only, not this server, its
// signing code or its private key handling. It imports no wazero either;
// compiling uploads is the Validator's job.
package release
