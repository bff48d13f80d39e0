module gitlab.com/ecs-bluegreen/ecs-bluegreen

go 1.26.8
