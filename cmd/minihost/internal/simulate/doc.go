// Package simulate runs a fleet of simulated clients through the real
// launch executor on a simulated clock, to measure how fast a release
// reaches users and how many requests the release server sees (rule N2 of
// updater.Rules: "99% of users within 24 hours"). Every cold start is an
// updater.Launch made by one updater.Executor per run, and the periodic
// checker asks the same Executor when to check and what a check leads to:
// the simulator is only the Launches' updater.Runner, carrying out what
// they ask for (checks, downloads, opens, timers, the restart prompt) on
// its clock and feeding the results back.
//
// It is a discrete-event simulation: every client has documented habits
// (cold starts per day with a day/night cycle, session length, host uptime
// during which the periodic checker runs, network quality, offline
// periods; see Habits) and its own local state (updater.LocalState); a
// model of the release server publishes Release.To over Release.From at
// t0, the start of the simulation. Events (cold starts, host up and down,
// periodic checks, check results, download completions, the Launches'
// alarms, users giving up on a blocked launch) are kept in a
// container/heap by time. Every client draws from its own random stream
// seeded from Config.Seed and its index, so a run is reproducible for a
// seed and does not depend on how many workers share the fleet. Nothing here does I/O,
// touches the network or runs wasm: checks and downloads are replaced by
// latencies, bandwidths and failure probabilities, and opening an app
// always succeeds at once.
//
// Run simulates one configuration; Sweep runs several policy variants over
// the same fleet; Result.WriteSVG draws the coverage curve.
package simulate
