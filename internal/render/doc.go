// Package render rewrites a task definition and an AppSpec for a new image,
// checks them against each other and against what ECS and CodeDeploy accept,
// and registers the task definition without piling up identical revisions.
package render
