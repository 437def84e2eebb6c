package simulate

import (
	"time"
)

// NotReached is the milestone (T50, T90, T99) of a share never reached
// within the run.
const NotReached time.Duration = -1

// Result is what one simulation measured. It is a plain value.
//
// Coverage is measured three ways, each as the share of clients whose
// active version (the one they last opened) is the new one:
//   - ActiveShare: over the active users, the clients that opened the app
//     at least once since the release (cold start, or a prompted restart);
//   - DailyShare: over the daily active users, the clients that opened the
//     app within the last DailyWindow (24 h); at 24 h it equals
//     ActiveShare, later it forgets users who have not come back;
//   - FleetShare: over the whole fleet, including clients that have not
//     opened the app since (they cannot be on the new version unless they
//     do);
//   - InstalledShare: clients that have the new version installed (it
//     opens at their next cold start unless revoked), over the fleet.
type Result struct {
	// Name is the sweep variant's name ("" for a plain Run).
	Name string `json:"name,omitempty"`
	// Config is the configuration run, defaults filled in.
	Config Config `json:"config"`
	// Curve samples coverage every Config.Step from t0 to Config.Duration.
	Curve []Point `json:"curve"`
	// T50, T90 and T99 are the first curve times at which ActiveShare
	// reached 50, 90 and 99 percent (NotReached if it did not).
	T50 time.Duration `json:"t50"`
	T90 time.Duration `json:"t90"`
	T99 time.Duration `json:"t99"`
	// Fleet and Daily are the same milestones for FleetShare and
	// DailyShare.
	Fleet Milestones `json:"fleet"`
	Daily Milestones `json:"daily"`
	// Opens are the milestones of the share of one hour's opens that ran
	// the new version: the end of the first hour whose share reached 50,
	// 90 and 99 percent.
	Opens Milestones `json:"opens"`
	// RequestsPerHour counts, for every hour since t0, what the release
	// server saw and what the clients did.
	RequestsPerHour []HourStats `json:"requestsPerHour"`
	// Requests summarizes RequestsPerHour.
	Requests RequestSummary `json:"requests"`
	// Totals counts over the whole run.
	Totals Totals `json:"totals"`
	// Elapsed is the wall-clock time the run took (not reproducible).
	Elapsed time.Duration `json:"elapsed"`
}

// Milestones are the first times a share reached 50, 90 and 99 percent
// (NotReached if it did not within the run).
type Milestones struct {
	T50 time.Duration `json:"t50"`
	T90 time.Duration `json:"t90"`
	T99 time.Duration `json:"t99"`
}

// Point is one sample of the coverage curve.
type Point struct {
	// T is the time since the release.
	T time.Duration `json:"t"`
	// ActiveShare, DailyShare, FleetShare and InstalledShare: see Result.
	ActiveShare    float64 `json:"activeShare"`
	DailyShare     float64 `json:"dailyShare"`
	FleetShare     float64 `json:"fleetShare"`
	InstalledShare float64 `json:"installedShare"`
	// Active is the number of active users (opened since the release);
	// Daily the number of daily active users.
	Active int `json:"active"`
	Daily  int `json:"daily"`
	// Held is the number of push requests the release server holds (one
	// per host that is up, on the push path).
	Held int `json:"held"`
}

// HourStats is one hour since the release.
type HourStats struct {
	// Checks and Downloads are the requests the release server saw:
	// release-document fetches and package downloads (every attempt,
	// failed ones included; none made while offline).
	Checks    int `json:"checks"`
	Downloads int `json:"downloads"`
	// DownloadBytes is the bytes sent for Downloads (a failed attempt
	// counts what it got before failing).
	DownloadBytes int64 `json:"downloadBytes"`
	// Launches counts cold starts; OpensNew the opens (cold starts and
	// prompted restarts) of the new version.
	Launches int `json:"launches"`
	Opens    int `json:"opens"`
	OpensNew int `json:"opensNew"`
}

// RequestSummary is the mean and peak of the server's hourly requests, and
// the rates per client that scale them to other fleet sizes.
type RequestSummary struct {
	ChecksMean        float64 `json:"checksMean"`
	ChecksPeak        int     `json:"checksPeak"`
	ChecksPeakHour    int     `json:"checksPeakHour"`
	DownloadsMean     float64 `json:"downloadsMean"`
	DownloadsPeak     int     `json:"downloadsPeak"`
	DownloadsPeakHour int     `json:"downloadsPeakHour"`
	// ChecksPerClientDay and DownloadsPerClient are per fleet client.
	ChecksPerClientDay float64 `json:"checksPerClientDay"`
	DownloadsPerClient float64 `json:"downloadsPerClient"`
	// PeakRequestsPerClientHour is the busiest hour's requests (checks
	// plus downloads) divided by the fleet size.
	PeakRequestsPerClientHour float64 `json:"peakRequestsPerClientHour"`
}

// Totals counts over the whole run.
type Totals struct {
	// Launches is cold starts; HotStarts reopenings within
	// Habits.HotStartWindow, which run no policy.
	Launches  int `json:"launches"`
	HotStarts int `json:"hotStarts"`
	// SyncLaunches and AsyncLaunches split Launches by the mode of the
	// launch's updater.Trace.
	SyncLaunches  int `json:"syncLaunches"`
	AsyncLaunches int `json:"asyncLaunches"`
	// SyncWait is the total time cold starts waited, from the cold start
	// to its open (or until the user gave up); an async launch opens at
	// once. SlowStarts counts launches that waited a second or more.
	SyncWait   time.Duration `json:"syncWait"`
	SlowStarts int           `json:"slowStarts"`
	// Fallbacks counts sync launches that opened the local version because
	// the check or download failed or timed out (rules S2, S5): the open's
	// updater.Trace names a fallback, other than a preferred local version
	// (P1).
	Fallbacks int `json:"fallbacks"`
	// Blocked counts launches where nothing could open at first;
	// BlockedAbandoned those the user left before anything opened.
	Blocked          int `json:"blocked"`
	BlockedAbandoned int `json:"blockedAbandoned"`
	// Checks splits by who made them; it equals the sum of
	// RequestsPerHour's Checks. FailedChecks and TimedOutChecks are among
	// them; OfflineChecks were never sent and are not among them.
	Checks         int `json:"checks"`
	LaunchChecks   int `json:"launchChecks"`
	PeriodicChecks int `json:"periodicChecks"`
	RetryChecks    int `json:"retryChecks"`
	FailedChecks   int `json:"failedChecks"`
	TimedOutChecks int `json:"timedOutChecks"`
	OfflineChecks  int `json:"offlineChecks"`
	// Downloads counts attempts sent; FailedDownloads those that failed
	// or were cut off by the policy's BackgroundTimeout; AbortedDownloads
	// those cut off by the host stopping.
	Downloads        int   `json:"downloads"`
	FailedDownloads  int   `json:"failedDownloads"`
	AbortedDownloads int   `json:"abortedDownloads"`
	DownloadBytes    int64 `json:"downloadBytes"`
	// Installs counts clients that installed the new version; Prefetched
	// those whose install came from a periodic check.
	Installs   int `json:"installs"`
	Prefetched int `json:"prefetched"`
	// Opens and OpensNew count opens (cold starts that opened something and
	// prompted restarts) and those of the new version.
	Opens    int `json:"opens"`
	OpensNew int `json:"opensNew"`
	// Violations counts opens of a version that the client's last verified
	// release document forbids (revoked or below the minimum). The policy
	// never allows one: it must be 0.
	Violations int `json:"violations"`
}

// EventKind says what an Event is.
type EventKind string

// Event kinds.
const (
	// EventCheck: a release-document check (Sent false: made offline,
	// never reached the server).
	EventCheck EventKind = "check"
	// EventDownload: a download attempt (Sent as for checks).
	EventDownload EventKind = "download"
	// EventInstall: Version is installed and verified.
	EventInstall EventKind = "install"
	// EventOpen: Version opened (cold start or prompted restart).
	EventOpen EventKind = "open"
)

// Event is one thing a client did, given to Config.Observe.
type Event struct {
	// Client is the client's index, 0 to Clients-1.
	Client int
	// T is the time since the release.
	T    time.Duration
	Kind EventKind
	// Source says what made a check or download: "launch-sync",
	// "launch-async", "periodic", "blocked" or "background"; for an open,
	// "launch" or "restart".
	Source string
	// Version is the version opened or installed, or downloaded.
	Version string
	// Sent is true when a check or download reached the server.
	Sent bool
	// OK is true when a check or download succeeded.
	OK bool
	// Mode is the launch's mode, "sync" or "async" (updater.Trace.Mode),
	// for opens from a launch.
	Mode string
	// Sequence is the release document's sequence the client knew after
	// the event (0: none).
	Sequence uint64
}

// finish computes the milestones and the request summary from the curve
// and the hourly counts.
func (r *Result) finish() {
	active := milestones(r.Curve, func(p Point) float64 { return p.ActiveShare })
	r.T50, r.T90, r.T99 = active.T50, active.T90, active.T99
	r.Fleet = milestones(r.Curve, func(p Point) float64 { return p.FleetShare })
	r.Daily = milestones(r.Curve, func(p Point) float64 { return p.DailyShare })
	hourly := make([]Point, len(r.RequestsPerHour))
	for i, h := range r.RequestsPerHour {
		hourly[i].T = time.Duration(i+1) * time.Hour
		if h.Opens > 0 {
			hourly[i].ActiveShare = float64(h.OpensNew) / float64(h.Opens)
		}
	}
	r.Opens = milestones(hourly, func(p Point) float64 { return p.ActiveShare })
	var s RequestSummary
	peakReq := 0
	for i, h := range r.RequestsPerHour {
		s.ChecksMean += float64(h.Checks)
		s.DownloadsMean += float64(h.Downloads)
		if h.Checks > s.ChecksPeak {
			s.ChecksPeak, s.ChecksPeakHour = h.Checks, i
		}
		if h.Downloads > s.DownloadsPeak {
			s.DownloadsPeak, s.DownloadsPeakHour = h.Downloads, i
		}
		peakReq = max(peakReq, h.Checks+h.Downloads)
	}
	if n := len(r.RequestsPerHour); n > 0 {
		s.ChecksMean /= float64(n)
		s.DownloadsMean /= float64(n)
	}
	if c := float64(r.Config.Clients); c > 0 {
		s.ChecksPerClientDay = float64(r.Totals.Checks) / c / r.Config.Duration.Hours() * 24
		s.DownloadsPerClient = float64(r.Totals.Downloads) / c
		s.PeakRequestsPerClientHour = float64(peakReq) / c
	}
	r.Requests = s
}

func milestones(curve []Point, share func(Point) float64) Milestones {
	return Milestones{milestone(curve, 0.50, share), milestone(curve, 0.90, share), milestone(curve, 0.99, share)}
}

// milestone returns the first curve time at which share(p) >= want.
func milestone(curve []Point, want float64, share func(Point) float64) time.Duration {
	for _, p := range curve {
		// A tiny tolerance so 99% of 100 clients counts as 99%.
		if share(p) >= want-1e-12 {
			return p.T
		}
	}
	return NotReached
}

// At returns the curve point at or just before t (the first point for a
// t before it).
func (r *Result) At(t time.Duration) Point {
	if len(r.Curve) == 0 {
		return Point{}
	}
	i := 0
	for i+1 < len(r.Curve) && r.Curve[i+1].T <= t {
		i++
	}
	return r.Curve[i]
}
