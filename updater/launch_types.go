package updater

import "time"

// The vocabulary of the launch executor (launch.go): the commands a Launch
// returns, the events its runner feeds back, and the Trace of a decision.

// Command is something a Launch asks its runner to do. It is one of Check,
// Download, Open, Prepare, PromptRestart, Restart, NotifyCheck,
// NotifyFailed, RecordOpen, RecordLaunch, Blocked, RolledBack, Sleep.
type Command interface{ command() }

// Check asks for an update check bounded by Timeout; feed Checked.
type Check struct {
	Timeout time.Duration
	// Source says why: "launch-sync", "launch-async" or "blocked".
	Source string
}

// Download asks to start (or join) the download and install of Release;
// feed Installed when it ends. It runs outside the launch's deadlines: a
// sync launch that stops waiting lets it carry on.
type Download struct {
	Release *Release
	// Source says why: "launch-sync", "blocked" or "background".
	Source string
}

// Open asks to open Version as this cold start, replacing whatever this
// Launch opened before (a crash-loop rollback); feed Opened or
// LaunchFailed. Trace says why this version.
type Open struct {
	Version string
	Trace   Trace
}

// Prepare asks to make the installed Version ready for applyUpdate
// (compile it, then deliver onUpdateReady, or onUpdateFailed if it does
// not compile); feed Prepared.
type Prepare struct{ Version string }

// PromptRestart asks the user to restart into the prepared Version,
// because the running one may no longer be used (M2, R1); feed Answered.
type PromptRestart struct{ Version string }

// Restart asks to swap the running app to the prepared Version now (the
// user accepted the prompt); feed Opened with Swap set once it ran.
type Restart struct{ Version string }

// NotifyCheck delivers this cold start's onCheckForUpdate (rule U1). A
// Launch sends it once per cold start.
type NotifyCheck struct{ HasUpdate bool }

// NotifyFailed delivers onUpdateFailed: the update this cold start found
// could not be downloaded (rule U3).
type NotifyFailed struct{ Reason string }

// RecordOpen asks to record Version as the active, just used version at At
// (Store.RecordOpen).
type RecordOpen struct {
	Version string
	At      time.Time
}

// RecordLaunch asks to store the crash-loop counters (Store.RecordLaunch).
type RecordLaunch struct{ Record LaunchRecord }

// Blocked reports a blocked launch's progress: nothing may open yet.
type Blocked struct {
	Attempt int
	Reason  string
	// Downloading is the version being downloaded, "" while checking.
	Downloading string
}

// RolledBack reports that Version was marked bad (rule B1) and the cold
// start begins again without it.
type RolledBack struct{ Version, Reason string }

// Sleep asks for AlarmFired{Alarm} after After. A runner may drop a
// pending alarm when the Launch is closed.
type Sleep struct {
	Alarm Alarm
	After time.Duration
}

// Alarm names one Sleep; the Launch ignores alarms it no longer waits for.
type Alarm struct {
	Kind AlarmKind
	Seq  uint32
}

// AlarmKind is what an Alarm is for.
type AlarmKind uint8

const (
	// AlarmSync is the end of a sync launch's timeout.
	AlarmSync AlarmKind = iota + 1
	// AlarmRetry is the end of a blocked launch's backoff.
	AlarmRetry
	// AlarmBackground is the end of a background download's backoff.
	AlarmBackground
)

func (Check) command()         {}
func (Download) command()      {}
func (Open) command()          {}
func (Prepare) command()       {}
func (PromptRestart) command() {}
func (Restart) command()       {}
func (NotifyCheck) command()   {}
func (NotifyFailed) command()  {}
func (RecordOpen) command()    {}
func (RecordLaunch) command()  {}
func (Blocked) command()       {}
func (RolledBack) command()    {}
func (Sleep) command()         {}

// LaunchEvent is something a Launch's runner reports. It is one of
// Checked, Installed, Opened, LaunchFailed, Prepared, Answered,
// AlarmFired, Closed.
type LaunchEvent interface{ launchEvent() }

// Checked is the result of a Check. A verified document must already be
// recorded (Store.RecordCheck) when it is fed.
type Checked struct{ Result CheckResult }

// Installed ends a Download: Err is nil once Version is installed and
// verified.
type Installed struct {
	Version string
	Err     error
}

// Opened reports that Version opened: as the cold start (Swap false), or
// by applyUpdate or the restart prompt (Swap true).
type Opened struct {
	Version string
	Swap    bool
}

// LaunchFailed reports that opening Version failed: it did not compile,
// did not instantiate, its start function or _initialize trapped or ran
// out of time, or its onLaunch crashed. Running is true when the app is
// running all the same (onLaunch crashed; the next event relaunches it).
// Deterministic is true when the same bytes would fail the same way again
// (the module does not compile, lacks the ABI exports, or traps in its
// start function or _initialize): the version is marked bad at once. A
// timeout, or a crash in onLaunch, only counts toward the crash-loop
// limit. A launch cancelled by its caller is not a LaunchFailed.
type LaunchFailed struct {
	Version       string
	Err           error
	Running       bool
	Deterministic bool
}

// Prepared ends a Prepare: Err is nil when Version is ready for
// applyUpdate.
type Prepared struct {
	Version string
	Err     error
}

// Answered is the user's answer to a PromptRestart.
type Answered struct {
	Version string
	Restart bool
}

// AlarmFired reports that a Sleep's time has come.
type AlarmFired struct{ Alarm Alarm }

// Closed reports that the app (or the caller of a launch still blocked)
// is gone; the Launch asks for nothing more.
type Closed struct{}

func (Checked) launchEvent()      {}
func (Installed) launchEvent()    {}
func (Opened) launchEvent()       {}
func (LaunchFailed) launchEvent() {}
func (Prepared) launchEvent()     {}
func (Answered) launchEvent()     {}
func (AlarmFired) launchEvent()   {}
func (Closed) launchEvent()       {}

// Trace records why a launch opens what it opens: the plan, what the
// policy made of the check, and how the launch got there.
type Trace struct {
	// Mode, Rules and Reason are the plan (Decide).
	Mode   Mode
	Rules  []string
	Reason string
	// Local is L before the launch.
	Local string
	// Action, OutcomeRules and OutcomeReason are the last Outcome.
	Action        Action
	OutcomeRules  []string
	OutcomeReason string
	// Fallback says why the local version opened instead of the latest.
	Fallback string
	// BlockedAttempts counts the attempts while nothing could open.
	BlockedAttempts int
	// Rollback says which version was marked bad before this open.
	Rollback string
	// Opened is the version the Open names.
	Opened string
}
