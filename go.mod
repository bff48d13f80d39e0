module gitlab.com/ecs-bluegreen/ecs-bluegreen

go 1.26.8

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/google/go-containerregistry v0.22.1 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/sethvargo/go-envconfig v1.4.3 // indirect
)
