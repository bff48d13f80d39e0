package snapshot

import (
	"strings"
	"testing"
)

func TestReleasedDigest(t *testing.T) {
	t.Parallel()
	ours := func(ref string) bool { return strings.HasPrefix(ref, "reg/web@") }
	running := &TaskSet{Desired: 2, Running: 2}
	tests := []struct {
		name   string
		c      ColourState
		want   string
		wantOK bool
	}{
		{name: "one_released_image", c: ColourState{TaskSet: running, Containers: []Container{{Image: "reg/web@sha256:a"}, {Image: "public/envoy@sha256:e"}}}, want: "sha256:a", wantOK: true},
		{name: "same_image_twice", c: ColourState{TaskSet: running, Containers: []Container{{Image: "reg/web@sha256:a"}, {Image: "reg/web@sha256:a"}}}, want: "sha256:a", wantOK: true},
		{name: "two_released_images", c: ColourState{TaskSet: running, Containers: []Container{{Image: "reg/web@sha256:a"}, {Image: "reg/web@sha256:b"}}}},
		{name: "by_tag", c: ColourState{TaskSet: running, Containers: []Container{{Image: "reg/web:v1"}}}},
		{name: "not_ours", c: ColourState{TaskSet: running, Containers: []Container{{Image: "public/envoy@sha256:e"}}}},
		{name: "no_tasks", c: ColourState{TaskSet: &TaskSet{}, Containers: []Container{{Image: "reg/web@sha256:a"}}}},
		{name: "no_task_set", c: ColourState{Containers: []Container{{Image: "reg/web@sha256:a"}}}},
		{name: "starting", c: ColourState{TaskSet: &TaskSet{Desired: 1}, Containers: []Container{{Image: "reg/web@sha256:a"}}}, want: "sha256:a", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.c.ReleasedDigest(ours)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ReleasedDigest = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
