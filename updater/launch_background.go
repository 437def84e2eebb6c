package updater

import "fmt"

// The part of a Launch that outlives the open (launch.go): the background
// download of this cold start's update, its retries, and pending.

// background downloads rel after the open, for applyUpdate and the next
// cold start (A2, P1, S2 after a timeout).
func (l *Launch) background(rel *Release) {
	l.bg, l.bgTries, l.bgWait = rel, 1, l.cfg.RetryMin
	l.download(rel, "background")
}

func (l *Launch) bgVersion() string {
	if l.bg == nil {
		return ""
	}
	return l.bg.Version
}

// retryBackground backs off before the next attempt of the background
// download, or gives up with onUpdateFailed after BackgroundAttempts.
func (l *Launch) retryBackground(err error) {
	if l.bgTries >= l.cfg.BackgroundAttempts {
		l.run.NotifyFailed(fmt.Sprintf("download %s: %v", l.bg.Version, err))
		l.bg = nil
		return
	}
	l.sleep(alarmBackground, l.jitter(l.bgWait))
	l.bgWait = min(2*l.bgWait, l.cfg.RetryMax)
}

// fallBack opens L after the sync download of rel failed or ran out of
// time (err), keeping rel as the background update of this cold start.
func (l *Launch) fallBack(err error, rel *Release) {
	next := afterDownloadFailure(l.out, err)
	l.noteOutcome(next)
	l.trace.Fallback = next.Reason
	if next.Open == "" {
		l.blocked(next)
		return
	}
	l.bg, l.bgTries, l.bgWait = rel, 1, l.cfg.RetryMin
	l.open(next.Open)
}

func (st LocalState) hasVersion(v string) bool {
	for _, iv := range st.Installed {
		if iv.Verified && sameSemver(iv.Version, v) {
			return true
		}
	}
	return false
}

// PendingUpdate reports whether an update is pending (rule S6): the latest
// version for this client by last, V, is above L, the highest installed
// and verified version. It clears when L reaches V, so a completed
// download clears it and the next cold start opens V without waiting.
func PendingUpdate(st LocalState, last *Document, clientID string) bool {
	if last == nil {
		return false
	}
	v := releaseSemver(latestUsable(st, last, clientID))
	if v == nil {
		return false
	}
	l := semver(localVersion(st, last))
	return l != nil && v.GreaterThan(l) // no L at all: F1 or R1 decide
}
