// Package awssim simulates the AWS APIs ecs-bluegreen uses (ECS, ELBv2,
// CodeDeploy, ECR, STS, CloudWatch) over their real wire protocols, so the real
// SDK clients and the AWS CLI can run against it.
package awssim
