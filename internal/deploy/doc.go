// Package deploy starts and steers blue/green deployments: for the codedeploy
// model it finds the CodeDeploy application and group behind an ECS service,
// creates a deployment (or attaches to the one this pipeline already
// started), and promotes, stops or finishes it.
package deploy
