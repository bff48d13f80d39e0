// Package deploy is what changes AWS, one deployment model at a time. Each
// model (CodeDeployModel, ListenerModel) implements Model, the commands that
// act on what is live, and is built from Deps: the AWS clients as small
// interfaces, the typed settings, the CI context, the clock and logger, and
// what deploy may not reach itself (render's file pipeline, the reports, the
// registry tags, running deploy again), supplied by internal/app.
//
// For the codedeploy model it finds the CodeDeploy application and group
// behind an ECS service, creates a deployment (or attaches to the one this
// pipeline already started), and promotes, stops or finishes it, watched by
// a Session; for the listener model it brings the idle colour up and moves
// production between the two services' target groups.
package deploy
