// Package config reads ecs-bluegreen's settings from the environment: BG_*
// variables (plus the standard AWS_* and GitLab CI_* ones), typed, validated
// all at once, and described for `ecs-bluegreen env` and the README.
//
// Settings come in families (AWS, Target, CodeDeploy, ...); each command reads
// the families it needs. A family is a struct whose fields carry an `env` tag in
// go-envconfig's syntax, a `desc` tag for the reference text and, for secrets,
// `secret:"true"` so that neither the value nor a parse error quoting it is ever
// printed.
package config
