package updater

import "time"

// The vocabulary of the launch executor (launch.go): the Runner a Launch
// asks to do things, the events the Runner feeds back, and the Trace of a
// decision.

// Runner carries out what a Launch asks for. The Launch calls it from
// inside Start and Handle, in the order the work must be done; the
// results come back later as events fed to Handle. Its methods must
// return promptly (work that waits, such as a check, a download, a timer
// or the user, goes on elsewhere) and must not call the Launch. The host
// and the fleet simulator each implement it; the consumer owns the
// interface, so an implementation that misses a method does not compile.
type Runner interface {
	// Check asks for an update check bounded by timeout; feed Checked.
	// source says why: "launch-sync", "launch-async" or "blocked".
	Check(timeout time.Duration, source string)
	// Download asks to start (or join) the download and install of rel;
	// feed Installed when it ends. It runs outside the launch's
	// deadlines: a sync launch that stops waiting lets it carry on.
	// source says why: "launch-sync", "blocked" or "background".
	Download(rel *Release, source string)
	// Open asks to open version as this cold start, replacing whatever
	// this Launch opened before (a crash-loop rollback); feed Opened or
	// LaunchFailed. tr says why this version. Open is the last call of
	// its Start or Handle, so a runner may carry it out once that returns.
	Open(version string, tr Trace)
	// Prepare asks to make the installed version ready for applyUpdate
	// (compile it, then deliver onUpdateReady, or onUpdateFailed if it
	// does not compile); feed Prepared. Only once the app is open.
	Prepare(version string)
	// PromptRestart asks the user to restart into the prepared version,
	// because the running one may no longer be used (M2, R1); feed
	// Answered. Only once the app is open.
	PromptRestart(version string)
	// Restart swaps the running app to the prepared version now (the
	// user accepted the prompt); feed Opened with Swap set once it ran.
	Restart(version string)
	// NotifyCheck delivers this cold start's onCheckForUpdate (rule U1),
	// once per cold start, after the open.
	NotifyCheck(hasUpdate bool)
	// NotifyFailed delivers onUpdateFailed: the update this cold start
	// found could not be downloaded (rule U3). Only once the app is open.
	NotifyFailed(reason string)
	// RecordOpen records version as the active, just used version at at
	// (Store.RecordOpen).
	RecordOpen(version string, at time.Time)
	// RecordLaunch stores the crash-loop counters (Store.RecordLaunch).
	RecordLaunch(rec LaunchRecord)
	// Blocked reports a blocked launch's progress: nothing may open yet.
	// downloading is the version being downloaded, "" while checking.
	Blocked(attempt int, reason, downloading string)
	// RolledBack reports that version was marked bad (rule B1) and the
	// cold start begins again without it.
	RolledBack(version, reason string)
	// Unavailable reports that the launch ended without opening anything
	// and will ask for nothing more: nothing local may open, no signed
	// document of the app is known, and the server has no such app (rule
	// F2); err says so and wraps the check's error. The Launch is Done:
	// feed it nothing more.
	Unavailable(err error)
	// Sleep asks for AlarmFired{Alarm: alarm} after after. A runner may
	// drop a pending alarm once the Launch is closed.
	Sleep(alarm Alarm, after time.Duration)
}

// Alarm names one Runner.Sleep: an opaque token the runner hands back in
// AlarmFired. The Launch ignores alarms it no longer waits for. It is a
// number so that a runner can keep it compactly; its value means nothing
// outside the Launch that made it.
type Alarm uint32

// alarmKind is what an Alarm is for; it is the Alarm's low two bits.
type alarmKind uint8

const (
	// alarmSync is the end of a sync launch's timeout.
	alarmSync alarmKind = iota + 1
	// alarmRetry is the end of a blocked launch's backoff.
	alarmRetry
	// alarmBackground is the end of a background download's backoff.
	alarmBackground
)

func newAlarm(k alarmKind, seq uint32) Alarm { return Alarm(seq<<2 | uint32(k)) }

func (a Alarm) kind() alarmKind { return alarmKind(a & 3) }
func (a Alarm) seq() uint32     { return uint32(a >> 2) }

// LaunchEvent is something a Launch's runner reports. It is one of
// Checked, Installed, Opened, LaunchFailed, Prepared, Answered,
// AlarmFired, Closed.
type LaunchEvent interface{ launchEvent() }

// Checked is the result of a Runner.Check. A verified document must already be
// recorded (Store.RecordCheck) when it is fed.
type Checked struct{ Result CheckResult }

// Installed ends a Runner.Download: Err is nil once Version is installed and
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

// Prepared ends a Runner.Prepare: Err is nil when Version is ready for
// applyUpdate.
type Prepared struct {
	Version string
	Err     error
}

// Answered is the user's answer to a Runner.PromptRestart.
type Answered struct {
	Version string
	Restart bool
}

// AlarmFired reports that a Runner.Sleep's time has come.
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
	// Mode ("sync" or "async"), Rules and Reason are the plan: whether
	// the launch waits for its check, and why.
	Mode   string
	Rules  []string
	Reason string
	// Local is L before the launch.
	Local string
	// Action, OutcomeRules and OutcomeReason are what the policy made of
	// the last check: Action names it for people ("open-local",
	// "download-then-open", "open-local-download-background", "blocked",
	// "unavailable", "keep", "download-background", "switch-on-restart";
	// "" before any check), and OutcomeRules lists the IDs of the rules
	// (see Rules) that decided, for code that tells the cases apart.
	Action        string
	OutcomeRules  []string
	OutcomeReason string
	// Fallback says why the local version opened instead of the latest.
	Fallback string
	// BlockedAttempts counts the attempts while nothing could open.
	BlockedAttempts int
	// Rollback says which version was marked bad before this open.
	Rollback string
	// Opened is the version the Runner.Open names.
	Opened string
}
