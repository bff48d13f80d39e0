//go:build race

package image

// raceEnabled: the race detector slows compression tenfold, so tests that
// stream gigabytes take less under it.
const raceEnabled = true
