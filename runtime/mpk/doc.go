// Package mpk reads, validates, extracts, packs and builds minihost code
// packages. A package is one zip file (extension .mpk) holding app.json
// (the Manifest: app id, semantic version, ABI version, entry module,
// permissions), the entry WebAssembly module and assets. Open validates a
// package before anything reads it (paths stay inside the package, no
// links, bounded sizes and compression ratios, a valid manifest, a wasm
// entry); Extract installs it atomically; Pack and Build produce one.
//
// mpk is a leaf: it never imports wazero, so the updater and command-line
// tools can use it without the runtime. Errors for bad input wrap ErrInvalid
// or ErrTooLarge, and their messages name the rule, the file and the field.
package mpk
