package updatertest

// Timers returns the number of pending timers: made by NewTimer, neither
// fired nor stopped. The package's tests count them; users wait for them
// with WaitForTimers.
func (c *FakeClock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}
