// Package image gets the application image into the registries ECS pulls
// from, without a Docker daemon: it copies an image (or a whole multi-platform
// index) by digest to the GitLab registry and to ECR, tags it with the commit
// and the candidate tag, and moves the live and previous tags once a
// deployment ends.
//
// Everything goes through go-containerregistry's remote package, which already
// copies only the blobs a registry lacks, mounts blobs across repositories of
// one registry, uploads layers in parallel and retries transient errors; this
// package adds no second retry layer. Credentials come from a Keychain built
// from the GitLab CI variables, an ECR token, and the Docker config file with
// its credential helpers; they never appear in errors or logs.
package image
