package gitlab

import "testing"

func TestArtifactURL(t *testing.T) {
	t.Parallel()
	const job = "https://gl.example/g/p/-/jobs/7"
	tests := []struct {
		name, job, project, dir, want string
	}{
		{name: "relative", job: job, dir: ".ecs-bluegreen/ecs-deploy", want: job + "/artifacts/file/.ecs-bluegreen/ecs-deploy/status.html"},
		{name: "absolute_in_project", job: job + "/", project: "/builds/g/p", dir: "/builds/g/p/out/", want: job + "/artifacts/file/out/status.html"},
		{name: "outside_the_project", job: job, project: "/builds/g/p", dir: "/tmp/out"},
		{name: "absolute_without_project", job: job, dir: "/builds/g/p/out"},
		{name: "not_in_gitlab", dir: ".ecs-bluegreen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ArtifactURL(tt.job, tt.project, tt.dir, "status.html"); got != tt.want {
				t.Errorf("ArtifactURL = %q, want %q", got, tt.want)
			}
		})
	}
}
