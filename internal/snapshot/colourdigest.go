package snapshot

import "strings"

// ReleasedDigest is the one image, pinned by digest, that the colour runs
// from the registries released says are ours: false when the colour has
// no tasks (its tag names what it ran last), or runs no such image, or
// more than one.
func (c ColourState) ReleasedDigest(released func(ref string) bool) (string, bool) {
	if c.TaskSet == nil || c.TaskSet.Desired == 0 && c.TaskSet.Running == 0 {
		return "", false
	}
	digest := ""
	for _, ct := range c.Containers {
		_, d, ok := strings.Cut(ct.Image, "@")
		if !ok || !released(ct.Image) {
			continue
		}
		if digest != "" && d != digest {
			return "", false
		}
		digest = d
	}
	return digest, digest != ""
}
