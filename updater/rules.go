package updater

import "slices"

// Rule is one behaviour of the update mechanism, taken from the seed
// (the WeChat documentation minihost reproduces) or from our own design
// (RATIONALE.md) where the seed leaves a gap. Tests name the rules they check by
// ID, and a test in this package fails when a rule has no test.
type Rule struct {
	// ID is short and stable ("S2", "M1"): tests, launch records and logs
	// refer to rules by it.
	ID string
	// Summary says what minihost does, in one line.
	Summary string
	// Source quotes the sentence the rule comes from, prefixed by its
	// document: "seed:", "DESIGN:" (the project's original design, whose
	// choices RATIONALE.md carries) or "RATIONALE:".
	Source string
	// CoveredElsewhere names the package and test that check the rule when
	// it is not testable in this package (update-manager events need a
	// running guest; propagation needs a simulated population). Empty for
	// rules this package's tests cover.
	CoveredElsewhere string
}

// Rules returns the table of update rules, in the seed's order. Each call
// returns a fresh copy, which the caller may modify. It is safe for
// concurrent use.
func Rules() []Rule { return slices.Clone(ruleTable) }

// ruleTable is the table Rules copies. Nothing modifies it.
var ruleTable = []Rule{
	{ID: "S1", Summary: "a sync launch checks (and downloads if needed) before opening, bounded by the sync timeout",
		Source: "seed: When the Mini Program starts, the code package is updated synchronously. The synchronous update will block the startup process of the Mini Program"},
	{ID: "S2", Summary: "sync check or download fails or times out: open the local version (if allowed)",
		Source: "seed: If the update fails or times out, the local version is still opened to ensure the availability of the Mini Program."},
	{ID: "S3", Summary: "periodic checks of recently used apps; an update found sets pending so the next start is sync",
		Source: "seed: When WeChat is running, it will regularly check whether the recently used mini programs have been updated. If there is an update, the next time the Mini Program starts will be updated synchronously"},
	{ID: "S4", Summary: "unused for at least the long-unused threshold (or never opened): the launch is sync",
		Source: "seed: When the user does not use the Mini Program for a long time, in order to ensure the real-time nature of the Mini Program version, it will be forced to synchronize the update of the version"},
	{ID: "S5", Summary: "forced sync whose download fails (weak network): open the local lower version",
		Source: "seed: If the user is in a weak network environment and fails to download the latest version, the local lower version will still be launched."},
	{ID: "S6", Summary: "pending: the latest known version V is above L, the highest installed and verified version; it clears when L reaches V, so a completed download clears it and the next cold start opens V without a blocking check",
		Source: "seed: If there is an update, the next time the Mini Program starts will be updated synchronously (...) the new version of the code package is downloaded asynchronously. However, when the first boot will still use the client local old version of the code"},
	{ID: "A1", Summary: "every other cold start is async: open L at once, check in the background",
		Source: "seed: Even if the update is not detected before startup, each time the Mini Program Cold start Is checked asynchronously for an updated version."},
	{ID: "A2", Summary: "async check found V > L: download V in the background; this launch keeps L, the next cold start uses V",
		Source: "seed: If a new version is found, the new version of the code package is downloaded asynchronously. However, when the first boot will still use the client local old version of the code"},
	{ID: "U1", Summary: "every cold start fires exactly one onCheckForUpdate{hasUpdate} into the guest",
		Source:           "seed: updateManager.onCheckForUpdate(function (res) { // Callback after requesting new version information",
		CoveredElsewhere: "host: update manager tests (need a running guest)"},
	{ID: "U2", Summary: "a started download that verified and compiled fires onUpdateReady",
		Source:           "seed: updateManager.onUpdateReady(function () { ... The new version is ready, do you want to restart the application?",
		CoveredElsewhere: "host: update manager tests (need a running guest)"},
	{ID: "U3", Summary: "a started download that failed fires onUpdateFailed",
		Source:           "seed: updateManager.onUpdateFailed(function () { // New Version Download Failed",
		CoveredElsewhere: "host: update manager tests (need a running guest)"},
	{ID: "U4", Summary: "applyUpdate after onUpdateReady restarts the app on the new version (storage carries over)",
		Source:           "seed: The new version has been downloaded, call the ApplyUpdate Apply the new version and restart",
		CoveredElsewhere: "host: hot swap tests (need a running guest)"},
	{ID: "U5", Summary: "update events that happen before the guest registers its callbacks are delivered when it registers",
		Source:           "DESIGN: Results that came before the guest registered its callbacks are delivered when it registers.",
		CoveredElsewhere: "host: update manager tests (need a running guest)"},
	{ID: "P1", Summary: "prefer-local: sync launch with V > L and L >= P (and L allowed) opens L now and downloads V in the background",
		Source: "seed: if the local version is not lower than the version when updating synchronously, the local version will be used first, and the latest version of the code package will be downloaded asynchronously."},
	{ID: "M1", Summary: "minimum version, sync: L < M cannot open; keep trying to download the latest and open it when installed",
		Source: "seed: if the local version is lower than the version when updating synchronously, it cannot be opened, and continue to try to download the latest version."},
	{ID: "M2", Summary: "minimum version, async: the check finds L < M; once the new version is ready the host prompts a restart",
		Source: "seed: If updating asynchronously, it will prompt the user to restart the Mini Program to update the new version after checking for updates."},
	{ID: "N1", Summary: "minimum version and prefer-local (and revocations) never change the sync/async choice",
		Source: "seed: Preference for local version settings and Minimum Available Version Settings for Mini Program Does not affect the choice between synchronous and asynchronous updates."},
	{ID: "N2", Summary: "a release reaches 99% of active clients within 24 hours",
		Source:           "seed: After the developer releases the new version in the background, it cannot immediately affect all current users. 24 Hours later, the new version can override 99% The above users.",
		CoveredElsewhere: "cmd/minihost/internal/simulate: TestSimulateInvariants and the fleet report in BENCHMARKS.md (measured, not asserted: our defaults reach 99% of opens at 62 h, not 24 h)"},
	{ID: "R1", Summary: "a revoked version is treated like one below the minimum: never opened, blocked in sync, prompt in async",
		Source: "DESIGN: blocked (no version, or L below M or revoked): do not open (...) If L < M or L is revoked, the host itself asks the user to restart"},
	{ID: "F1", Summary: "first install (no local version): the launch blocks until the package is downloaded, without the sync timeout",
		Source: "DESIGN: bounded by the sync timeout (except where nothing may open) (...) blocked (no version, ...): do not open; keep retrying"},
	{ID: "F2", Summary: "nothing local may open, no signed document of the app is known, and the release server has no such app (404): the launch ends with that error at once; it does not retry",
		Source: "RATIONALE: a blocked wait is for a release that is on its way; a server that answers it has no such app says none is, and waiting on it would hang a run that names a wrong app for ever"},
	{ID: "L1", Summary: "L is the highest installed, verified, not revoked version (a prefetched one counts), by the last verified document",
		Source: "DESIGN: local version L = the highest installed, verified, not revoked version (a prefetched one counts); the last verified release document (...) kept even after it expires"},
	{ID: "C1", Summary: "client config defaults (5 s, 7 d, 7 d, 6 h) and the long-unused threshold never above the recent window",
		Source: "DESIGN: sync timeout, default 5 s; long-unused threshold and recent window, default 7 days each, threshold never above the window; periodic interval, default 6 h"},
	{ID: "K1", Summary: "retention: never delete the active version, the rollback target, a version waiting to be used, or a running one",
		Source: "DESIGN: Retention invariant: never delete the active version, the rollback target (the newest older verified version that is not revoked), a downloaded version waiting to be used, or a version an instance is running; delete the rest."},
	{ID: "K2", Summary: "a package's sha256 is checked against the signed document before anything reads it; nothing is installed on mismatch",
		Source: "DESIGN: Packages are verified before anything reads them: size limits, sha256 from the signed release document"},
	{ID: "K3", Summary: "install and the active-version pointer are atomic: a failed write leaves the previous state intact",
		Source: "DESIGN: Install is atomic (temp, fsync, rename, fsync dir); the active-version pointer is written the same way."},
	{ID: "B1", Summary: "a version that fails to launch (compile, instantiate, start function, onLaunch) CrashLoopLimit times in a row is marked bad, never opened or fetched again, and the cold start rolls back to the rollback target",
		Source: "DESIGN: a bad release can never leave a client without a working version"},
}
