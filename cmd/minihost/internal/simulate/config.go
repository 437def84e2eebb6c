package simulate

import (
	"fmt"
	"math"
	goruntime "runtime"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
)

// Defaults for Config.
const (
	// DefaultClients is the fleet size.
	DefaultClients = 100_000
	// DefaultDuration is how long after the release the fleet is followed.
	DefaultDuration = 72 * time.Hour
	// DefaultStep is the time between two points of the coverage curve;
	// milestones (T50, T90, T99) are rounded up to it.
	DefaultStep = 15 * time.Minute
	// DefaultPackageSize is the size of the new version's package: 2 MiB,
	// WeChat's limit for a main package, so a realistic upper case.
	DefaultPackageSize = 2 << 20
	// DefaultAppID, DefaultFrom and DefaultTo name the app, the version the
	// fleet runs before the release and the version published at t0.
	DefaultAppID = "demo.sim"
	DefaultFrom  = "1.0.0"
	DefaultTo    = "1.1.0"
)

// DefaultStart returns the default release time t0: a Tuesday, 10:00 in
// China Standard Time, when a developer would publish. Cold starts follow
// the day/night cycle of Habits.Diurnal in Start's time zone (one zone for
// the whole fleet, as for WeChat's mostly Chinese users). It is safe for
// concurrent use.
func DefaultStart() time.Time { return defaultStart }

// defaultStart is the time DefaultStart returns. Nothing modifies it.
var defaultStart = time.Date(2025, 3, 4, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// Config is one simulation. The zero value of every field means its
// default (see WithDefaults); Validate names the first bad field. A Config
// is a plain value; Run does not change it.
type Config struct {
	// Clients is the fleet size. Default DefaultClients.
	Clients int `json:"clients"`
	// Seed seeds every client's random stream (client i draws from a
	// stream derived from Seed and i): the same Seed gives the same Result.
	Seed uint64 `json:"seed"`
	// Duration is how long after the release the simulation runs.
	// Default DefaultDuration.
	Duration time.Duration `json:"duration"`
	// Step is the time between curve points. Default DefaultStep.
	Step time.Duration `json:"step"`
	// Start is the release time t0, in the fleet's time zone.
	// Default DefaultStart().
	Start time.Time `json:"start"`
	// Policy is the clients' launch policy configuration, run by one
	// updater.Executor (its timings, retries and backoff included); zero
	// fields take the updater defaults.
	Policy updater.PolicyConfig `json:"policy"`
	// NoPeriodic turns the periodic checker off in every client (and with
	// it the push path, which replaces its rounds).
	NoPeriodic bool `json:"noPeriodic,omitempty"`
	// NoPush models a release server without the push path (a static
	// export): hosts poll at every periodic round. Otherwise a host that
	// is up holds a push request (Policy.PushWait) and learns of the
	// release at once.
	NoPush bool `json:"noPush,omitempty"`
	// PeriodicFirst is the delay of the periodic checker's first round
	// after the host starts; when set, it replaces Policy.PeriodicFirst
	// (WithDefaults copies the one into the other). Zero means the
	// executor's default (updater.PolicyConfig's).
	PeriodicFirst time.Duration `json:"periodicFirst,omitempty"`
	// Habits describes the users. The zero value means DefaultHabits().
	Habits Habits `json:"habits"`
	// Release is the model of the release server.
	Release Release `json:"release"`
	// PackageSize is the new version's package size in bytes.
	// Default DefaultPackageSize.
	PackageSize int64 `json:"packageSize"`
	// PatchSize, when above zero, is the size of a delta patch from the
	// version the fleet runs to the new one (issue 15): the document then
	// lists it, and each download attempt sends this many bytes instead of
	// PackageSize, as every client has the patch's base installed. A
	// patch's fallback to the package (a patch that fails to apply) is not
	// modelled. Zero: no patch.
	PatchSize int64 `json:"patchSize,omitempty"`
	// Workers is how many goroutines share the fleet (each owns a slice of
	// the clients and its own event queue). It does not change the
	// Result. Default GOMAXPROCS.
	Workers int `json:"-"`
	// Observe, when set, is called for every check, download attempt,
	// install and open of every client. Calls are serialized; one client's
	// events come in time order, different clients' events interleave.
	// Setting it slows the run down.
	Observe func(Event) `json:"-"`
	// Progress, when set, is called each time the simulated clock passes
	// a tenth of Duration, with the time reached (Duration last), so a
	// long run can show how far it is. The first worker calls it from its
	// goroutine (the others keep about its pace); calls come in order.
	Progress func(done time.Duration) `json:"-"`
}

// Release is the model of the release server: before t0 its release
// document names From as the latest version (sequence 1); at t0 it
// publishes To (sequence 2) with the settings below. Every client starts
// with From installed, verified and active, and the sequence-1 document.
type Release struct {
	// AppID names the app. Default DefaultAppID.
	AppID string `json:"appId"`
	// From is the version the fleet runs before t0. Default DefaultFrom.
	From string `json:"from"`
	// To is the version published at t0. Default DefaultTo.
	To string `json:"to"`
	// RolloutPercent is To's staged rollout (1-100). Default (0) 100.
	RolloutPercent int `json:"rolloutPercent"`
	// MinVersion and PreferLocal are the document's settings from t0
	// ("" for none); each must be From or To.
	MinVersion  string `json:"minVersion,omitempty"`
	PreferLocal string `json:"preferLocal,omitempty"`
	// RevokeFrom revokes From at t0 (as a revert away from it would).
	RevokeFrom bool `json:"revokeFrom,omitempty"`
}

// Habits describes how the simulated users use the app, their host
// (WeChat) and their network. Every share list must sum to 1. The zero
// value means DefaultHabits(); a Habits with any field set is used as is.
type Habits struct {
	// Segments split the fleet by how often the app is cold started.
	Segments []Segment `json:"segments"`
	// SessionMedian and SessionSigma give the time in the foreground after
	// a cold start (lognormal).
	SessionMedian time.Duration `json:"sessionMedian"`
	SessionSigma  float64       `json:"sessionSigma"`
	// HotStartWindow: an app reopened within this time of leaving it is
	// still alive in the background (WeChat keeps it 5 minutes): a hot
	// start, no policy, no check.
	HotStartWindow time.Duration `json:"hotStartWindow"`
	// Hosts split the fleet by how long the host (WeChat) stays up; the
	// periodic checker only runs while it is up.
	Hosts []HostProfile `json:"hosts"`
	// Networks split the fleet by network quality.
	Networks []NetworkProfile `json:"networks"`
	// OfflineShare of the clients have one offline period (no request gets
	// out) that starts uniformly between 24 h before t0 and the end of the
	// run and lasts a lognormal OfflineMedian, OfflineSigma.
	OfflineShare  float64       `json:"offlineShare"`
	OfflineMedian time.Duration `json:"offlineMedian"`
	OfflineSigma  float64       `json:"offlineSigma"`
	// Diurnal weighs cold starts by local hour of day (any positive
	// scale; normalized so the mean rate stays StartsPerDay).
	Diurnal [24]float64 `json:"diurnal"`
	// RestartAccept is the probability that a user accepts the restart
	// prompt the host shows when the running version may no longer be
	// used (rules M2, R1) and the new one is ready while the app is open.
	RestartAccept float64 `json:"restartAccept"`
	// BlockedPatience is how long a user waits on a blocked launch (no
	// version may open) before giving up.
	BlockedPatience time.Duration `json:"blockedPatience"`
}

// Segment is a share of users with a typical cold-start rate. Each client
// draws its own rate: StartsPerDay times a lognormal factor of median 1
// and Sigma.
type Segment struct {
	Name         string  `json:"name"`
	Share        float64 `json:"share"`
	StartsPerDay float64 `json:"startsPerDay"`
	Sigma        float64 `json:"sigma"`
}

// HostProfile is a share of users whose host alternates up and down
// periods, each lognormal with the given median and Sigma. Opening the
// app starts the host; the host does not stop while the app is in the
// foreground.
type HostProfile struct {
	Name       string        `json:"name"`
	Share      float64       `json:"share"`
	UpMedian   time.Duration `json:"upMedian"`
	DownMedian time.Duration `json:"downMedian"`
	Sigma      float64       `json:"sigma"`
}

// NetworkProfile is a share of users on one kind of network. A check takes
// a lognormal RTT (median RTTMedian, RTTSigma) and fails with CheckFail; a
// download takes an RTT plus the package size over a lognormal bandwidth
// (median BandwidthMedian bits/s, BandwidthSigma) and fails with
// DownloadFail, part way through. A check or download that fails still
// counts as a request the server saw; one made offline does not.
type NetworkProfile struct {
	Name            string        `json:"name"`
	Share           float64       `json:"share"`
	RTTMedian       time.Duration `json:"rttMedian"`
	RTTSigma        float64       `json:"rttSigma"`
	BandwidthMedian float64       `json:"bandwidthMedian"`
	BandwidthSigma  float64       `json:"bandwidthSigma"`
	CheckFail       float64       `json:"checkFail"`
	DownloadFail    float64       `json:"downloadFail"`
}

// DefaultHabits returns the habits model documented in BENCHMARKS.md
// ("Fleet simulation"). The numbers are assumptions, not measurements:
// they are chosen to be plausible for a WeChat mini program with a broad
// audience, and the sweep shows which of them matter.
func DefaultHabits() Habits {
	return Habits{
		Segments: []Segment{
			{Name: "heavy", Share: 0.10, StartsPerDay: 6, Sigma: 0.5},
			{Name: "daily", Share: 0.30, StartsPerDay: 1.5, Sigma: 0.5},
			{Name: "weekly", Share: 0.35, StartsPerDay: 0.3, Sigma: 0.5},
			{Name: "occasional", Share: 0.20, StartsPerDay: 1.0 / 14, Sigma: 0.5},
			{Name: "dormant", Share: 0.05, StartsPerDay: 1.0 / 100, Sigma: 0.5},
		},
		SessionMedian:  3 * time.Minute,
		SessionSigma:   0.8,
		HotStartWindow: 5 * time.Minute,
		Hosts: []HostProfile{
			{Name: "resident", Share: 0.50, UpMedian: 24 * time.Hour, DownMedian: 10 * time.Minute, Sigma: 0.7},
			{Name: "daytime", Share: 0.35, UpMedian: 6 * time.Hour, DownMedian: 8 * time.Hour, Sigma: 0.7},
			{Name: "brief", Share: 0.15, UpMedian: 20 * time.Minute, DownMedian: 4 * time.Hour, Sigma: 0.7},
		},
		Networks: []NetworkProfile{
			{Name: "good", Share: 0.85, RTTMedian: 150 * time.Millisecond, RTTSigma: 0.5,
				BandwidthMedian: 20e6, BandwidthSigma: 0.8, CheckFail: 0.005, DownloadFail: 0.01},
			{Name: "weak", Share: 0.15, RTTMedian: 1500 * time.Millisecond, RTTSigma: 1.0,
				BandwidthMedian: 1e6, BandwidthSigma: 0.8, CheckFail: 0.10, DownloadFail: 0.10},
		},
		OfflineShare:  0.10,
		OfflineMedian: 12 * time.Hour,
		OfflineSigma:  1.0,
		// Relative activity by local hour: a night trough, a lunch peak and
		// the evening peak.
		Diurnal: [24]float64{
			0.5, 0.3, 0.2, 0.15, 0.15, 0.2, 0.4, 0.8, 1.1, 1.2, 1.2, 1.3,
			1.5, 1.3, 1.1, 1.1, 1.1, 1.2, 1.3, 1.4, 1.6, 1.7, 1.4, 0.9},
		RestartAccept:   0.7,
		BlockedPatience: time.Minute,
	}
}

// isZero reports whether h is the zero Habits.
func (h Habits) isZero() bool {
	return h.Segments == nil && h.Hosts == nil && h.Networks == nil && h.SessionMedian == 0 &&
		h.SessionSigma == 0 && h.HotStartWindow == 0 && h.OfflineShare == 0 && h.OfflineMedian == 0 &&
		h.OfflineSigma == 0 && h.Diurnal == [24]float64{} && h.RestartAccept == 0 && h.BlockedPatience == 0
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Step == 0 {
		c.Step = DefaultStep
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart()
	}
	if c.PeriodicFirst != 0 {
		c.Policy.PeriodicFirst = c.PeriodicFirst
	} else {
		c.PeriodicFirst = c.Policy.PeriodicFirst
	}
	c.Policy = c.Policy.WithDefaults()
	if c.Habits.isZero() {
		c.Habits = DefaultHabits()
	}
	if c.Release.AppID == "" {
		c.Release.AppID = DefaultAppID
	}
	if c.Release.From == "" {
		c.Release.From = DefaultFrom
	}
	if c.Release.To == "" {
		c.Release.To = DefaultTo
	}
	if c.Release.RolloutPercent == 0 {
		c.Release.RolloutPercent = 100
	}
	if c.PackageSize == 0 {
		c.PackageSize = DefaultPackageSize
	}
	if c.Workers == 0 {
		c.Workers = goruntime.GOMAXPROCS(0)
	}
	return c
}

// Validate reports the first bad field of c (after WithDefaults), naming it.
func (c Config) Validate() error {
	c = c.WithDefaults()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("simulate config: "+format, args...)
	}
	switch {
	case c.Clients < 0:
		return bad("Clients %d is negative", c.Clients)
	case c.Clients > 1<<31-1:
		return bad("Clients %d is above %d", c.Clients, 1<<31-1)
	case c.PeriodicFirst < 0:
		return bad("PeriodicFirst %v is negative", c.PeriodicFirst)
	case c.Duration < 0:
		return bad("Duration %v is negative", c.Duration)
	case c.Step < 0:
		return bad("Step %v is negative", c.Step)
	case c.Duration/c.Step > 1_000_000:
		return bad("Step %v gives more than a million curve points over %v", c.Step, c.Duration)
	case c.PackageSize < 0:
		return bad("PackageSize %d is negative", c.PackageSize)
	case c.PatchSize < 0 || c.PatchSize >= c.PackageSize:
		return bad("PatchSize %d is outside 0 to the package's %d", c.PatchSize, c.PackageSize)
	case c.Workers < 0:
		return bad("Workers %d is negative", c.Workers)
	case c.Release.RolloutPercent < 0 || c.Release.RolloutPercent > 100:
		return bad("Release.RolloutPercent %d is outside 1-100", c.Release.RolloutPercent)
	}
	if err := c.Policy.Validate(); err != nil {
		return bad("Policy: %w", err)
	}
	from, err := mpk.ParseVersion(c.Release.From)
	if err != nil {
		return bad("Release.From %q is not a semantic version", c.Release.From)
	}
	to, err := mpk.ParseVersion(c.Release.To)
	if err != nil {
		return bad("Release.To %q is not a semantic version", c.Release.To)
	}
	if !to.GreaterThan(from) {
		return bad("Release.To %s is not newer than Release.From %s", c.Release.To, c.Release.From)
	}
	for _, s := range []struct{ name, v string }{{"MinVersion", c.Release.MinVersion}, {"PreferLocal", c.Release.PreferLocal}} {
		if s.v != "" && s.v != c.Release.From && s.v != c.Release.To {
			return bad("Release.%s %q is neither From nor To", s.name, s.v)
		}
	}
	return c.Habits.validate()
}

func (h Habits) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("simulate config: Habits."+format, args...)
	}
	share := func(name string, n int, at func(i int) float64) error {
		if n == 0 {
			return bad("%s is empty", name)
		}
		sum := 0.0
		for i := range n {
			s := at(i)
			if !(s >= 0 && s <= 1) {
				return bad("%s[%d].Share %v is outside 0-1", name, i, s)
			}
			sum += s
		}
		if math.Abs(sum-1) > 1e-6 {
			return bad("%s shares sum to %v, not 1", name, sum)
		}
		return nil
	}
	sigma := func(name string, s float64) error {
		if !(s >= 0 && s <= 5) {
			return bad("%s %v is outside 0-5", name, s)
		}
		return nil
	}
	prob := func(name string, p float64) error {
		if !(p >= 0 && p <= 1) {
			return bad("%s %v is outside 0-1", name, p)
		}
		return nil
	}
	if err := share("Segments", len(h.Segments), func(i int) float64 { return h.Segments[i].Share }); err != nil {
		return err
	}
	for i, s := range h.Segments {
		if !(s.StartsPerDay >= 0 && s.StartsPerDay <= 10_000) {
			return bad("Segments[%d].StartsPerDay %v is outside 0-10000", i, s.StartsPerDay)
		}
		if err := sigma(fmt.Sprintf("Segments[%d].Sigma", i), s.Sigma); err != nil {
			return err
		}
	}
	if err := share("Hosts", len(h.Hosts), func(i int) float64 { return h.Hosts[i].Share }); err != nil {
		return err
	}
	for i, p := range h.Hosts {
		if p.UpMedian <= 0 || p.DownMedian <= 0 {
			return bad("Hosts[%d] UpMedian %v and DownMedian %v must be positive", i, p.UpMedian, p.DownMedian)
		}
		if err := sigma(fmt.Sprintf("Hosts[%d].Sigma", i), p.Sigma); err != nil {
			return err
		}
	}
	if err := share("Networks", len(h.Networks), func(i int) float64 { return h.Networks[i].Share }); err != nil {
		return err
	}
	for i, n := range h.Networks {
		switch {
		case n.RTTMedian <= 0:
			return bad("Networks[%d].RTTMedian %v is not positive", i, n.RTTMedian)
		case !(n.BandwidthMedian > 0):
			return bad("Networks[%d].BandwidthMedian %v is not positive", i, n.BandwidthMedian)
		}
		for _, e := range []error{
			sigma(fmt.Sprintf("Networks[%d].RTTSigma", i), n.RTTSigma),
			sigma(fmt.Sprintf("Networks[%d].BandwidthSigma", i), n.BandwidthSigma),
			prob(fmt.Sprintf("Networks[%d].CheckFail", i), n.CheckFail),
			prob(fmt.Sprintf("Networks[%d].DownloadFail", i), n.DownloadFail),
		} {
			if e != nil {
				return e
			}
		}
	}
	if h.SessionMedian <= 0 {
		return bad("SessionMedian %v is not positive", h.SessionMedian)
	}
	if h.HotStartWindow < 0 || h.BlockedPatience < 0 || h.OfflineMedian < 0 {
		return bad("HotStartWindow %v, BlockedPatience %v and OfflineMedian %v may not be negative",
			h.HotStartWindow, h.BlockedPatience, h.OfflineMedian)
	}
	for _, e := range []error{
		sigma("SessionSigma", h.SessionSigma), sigma("OfflineSigma", h.OfflineSigma),
		prob("OfflineShare", h.OfflineShare), prob("RestartAccept", h.RestartAccept),
	} {
		if e != nil {
			return e
		}
	}
	maxW := 0.0
	for i, w := range h.Diurnal {
		if !(w >= 0) || math.IsInf(w, 0) {
			return bad("Diurnal[%d] %v is not a finite weight >= 0", i, w)
		}
		maxW = max(maxW, w)
	}
	if maxW == 0 {
		return bad("Diurnal is all zero")
	}
	return nil
}
