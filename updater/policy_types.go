package updater

import "time"

// The vocabulary of the launch policy (policy.go): the local state it
// reads, a check's result, and the plan and outcome it returns. Only
// LocalState, InstalledVersion and CheckResult leave the package: the
// executor (executor.go, launch.go) is how the host and the simulator
// reach the rest.

// InstalledVersion is one version of an app in the local store.
type InstalledVersion struct {
	// Version is the package's semantic version.
	Version string `json:"version"`
	// Verified is true once the package matched the sha256 of a verified
	// release document and was extracted completely.
	Verified bool `json:"verified"`
}

// LocalState is what the client knows locally about one app, as the
// policy reads it (see AppState.Local).
type LocalState struct {
	// Installed lists the versions in the store, prefetched ones included.
	Installed []InstalledVersion
	// Active is the version the app last opened ("" if none).
	Active string
	// Pending: the latest version for this client by the last document is
	// above L, so the next launch is sync (rules S3, S6). It is derived,
	// not stored: the executor fills it in with PendingUpdate, and it
	// clears when L reaches the latest, as when a download completes.
	Pending bool
	// LastUsed is the time of the last successful open (zero: never).
	LastUsed time.Time
	// Bad lists versions marked bad locally (for example, they crash on
	// launch); they never count as the local version or a rollback target.
	Bad []string
}

// launchMode is how a launch treats the update check (Trace.Mode).
type launchMode string

const (
	// modeSync: the launch waits for the check (and a download if needed).
	modeSync launchMode = "sync"
	// modeAsync: the launch opens the local version at once and checks in
	// the background.
	modeAsync launchMode = "async"
)

// launchPlan is the decision taken before a launch's check, by decide.
type launchPlan struct {
	// Mode is sync or async (never changed by M, P or revocations: N1).
	Mode launchMode
	// Rules lists the IDs of the rules that decided the mode.
	Rules []string
	// Reason says why, for people: "no local version", "pending update",
	// "unused for 8d (>= 7d)", "never opened", "cold start".
	Reason string
	// Local is L: the highest installed, verified, not revoked version by
	// the last known document ("" if none).
	Local string
	// LocalOpenable is true when Local exists and is not below the last
	// known minimum available version. An async launch opens Local at once
	// only when this is true; otherwise nothing opens until the check.
	LocalOpenable bool
	// LocalBlockedReason says why Local may not open ("" when it may).
	LocalBlockedReason string
	// Timeout bounds a sync launch (check, then download) while a local
	// version may open if it runs out. Zero for async.
	Timeout time.Duration

	blockedRule string // F1, R1 or M1 when Local may not open
	// signed is true when a verified release document of the app is
	// known: an unsigned 404 does not outrank it (F2).
	signed bool
}

// CheckResult is the result of one update check, as the host hands it to
// the executor (Checked, Executor.AfterPeriodicCheck).
type CheckResult struct {
	// Doc is the verified release document, nil if the check failed.
	Doc *Document
	// Err is why the check failed (timeout, network, verification).
	Err error
	// ClientID is this client's stable id, which places it in or out of a
	// staged rollout (see Document.LatestFor).
	ClientID string
}

// outcomeAction is what an outcome asks the executor to do (Trace.Action).
type outcomeAction string

const (
	// actionOpenLocal: open outcome.Open now; nothing to download.
	actionOpenLocal outcomeAction = "open-local"
	// actionDownloadThenOpen: download outcome.Download within what is left
	// of the sync timeout, then open it; if that fails or runs out, ask
	// afterDownloadFailure.
	actionDownloadThenOpen outcomeAction = "download-then-open"
	// actionOpenLocalDownloadBackground: open outcome.Open now and download
	// outcome.Download in the background for the next cold start.
	actionOpenLocalDownloadBackground outcomeAction = "open-local-download-background"
	// actionBlocked: open nothing. With a Download, download it without
	// the sync timeout, retrying with capped backoff and showing progress,
	// and open it once installed; without one, retry the check.
	actionBlocked outcomeAction = "blocked"
	// actionUnavailable: open nothing and end the launch: nothing local
	// may open and the server says it has no such app (F2).
	actionUnavailable outcomeAction = "unavailable"
	// actionKeep: after an async or periodic check, nothing to do.
	actionKeep outcomeAction = "keep"
	// actionDownloadBackground: after an async or periodic check, download
	// outcome.Download in the background; the app keeps its version.
	actionDownloadBackground outcomeAction = "download-background"
	// actionSwitchOnRestart: after an async check, the running version may
	// no longer be used and outcome.Switch, already installed, replaces it
	// at the restart the host prompts for.
	actionSwitchOnRestart outcomeAction = "switch-on-restart"
)

// outcome is what to do with one check's result.
type outcome struct {
	Action outcomeAction
	// Open is the version to open now ("" for none).
	Open string
	// Download is the release to download (nil for none).
	Download *Release
	// Background is true when Download runs in the background, the app
	// opening (or running) without waiting for it.
	Background bool
	// Fallback is the version to open if a sync download fails or runs out
	// of time (see afterDownloadFailure); "" when nothing may open.
	Fallback string
	// Switch is an installed version to restart into (actionSwitchOnRestart).
	Switch string
	// Blocked is true when nothing may open until Download is installed.
	Blocked bool
	// Prompt is true when the host itself must ask the user to restart
	// once the new version is ready, because the running one is below the
	// minimum version or revoked (M2, R1).
	Prompt bool
	// HasUpdate is the hasUpdate of the launch's onCheckForUpdate: a newer
	// version than the one opened exists (or the opened one must go).
	HasUpdate bool
	// Rules lists the IDs of the rules that decided.
	Rules []string
	// Reason says why, for people.
	Reason string
}
