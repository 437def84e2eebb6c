package host

import "time"

// Decision records why a launch opened the version it did: the typed
// decision trace (RATIONALE.md, host). Host.Launch returns it
// (App.Decision) and emits it as EventDecision.
type Decision struct {
	// Mode is "sync" or "async"; Rules and Reason say why.
	Mode   string   `json:"mode"`
	Rules  []string `json:"rules"`
	Reason string   `json:"reason"`
	// Local is L, the local version before the launch ("" for none).
	Local string `json:"local,omitempty"`
	// Check is the launch's update check (nil for an async launch, whose
	// check runs after the app opened).
	Check *CheckRecord `json:"check,omitempty"`
	// Action, OutcomeRules and OutcomeReason are what the policy made of
	// the check (updater.Trace).
	Action        string   `json:"action,omitempty"`
	OutcomeRules  []string `json:"outcomeRules,omitempty"`
	OutcomeReason string   `json:"outcomeReason,omitempty"`
	// Fallback says why the local version opened instead of the latest.
	Fallback string `json:"fallback,omitempty"`
	// Download is the download the launch waited for, if any.
	Download *DownloadRecord `json:"download,omitempty"`
	// BlockedAttempts counts retries while nothing could open.
	BlockedAttempts int `json:"blockedAttempts,omitempty"`
	// Rollback says which version was marked bad before this launch
	// (crash-loop rollback), if any.
	Rollback string `json:"rollback,omitempty"`
	// Opened is the version that opened.
	Opened string `json:"opened"`
	// Duration is the time from the start of Launch to the open.
	Duration time.Duration `json:"duration"`
}

// CheckRecord is one update check.
type CheckRecord struct {
	// Result is "ok", "failed" or "timeout".
	Result string `json:"result"`
	// Latest is the latest version for this client, when the check worked.
	Latest   string        `json:"latest,omitempty"`
	Sequence uint64        `json:"sequence,omitempty"`
	Duration time.Duration `json:"duration"`
	Error    string        `json:"error,omitempty"`
}

// DownloadRecord is one package download and install.
type DownloadRecord struct {
	Version string `json:"version"`
	// Result is "ok", "failed", or "timeout" (it carries on in the
	// background and is used from the next cold start).
	Result   string        `json:"result"`
	Bytes    int64         `json:"bytes"`
	Duration time.Duration `json:"duration"`
	// Via is how the version came: "full" (the package), "patch from V"
	// (a delta patch over installed version V) or "full after patch from
	// V failed"; "" when nothing was downloaded.
	Via   string `json:"via,omitempty"`
	Error string `json:"error,omitempty"`
}
