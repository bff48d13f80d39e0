package awssim

import "sync"

// extState is what the administrative operations keep beyond the core
// model (*_admin.go, ecr_images.go). Its maps are made on first use, so a
// World needs no set-up for them.
type extState struct {
	// ELBv2
	lbAttrs       map[string]map[string]string // load balancer ARN -> attributes set
	listenerAttrs map[string]map[string]string // listener ARN -> attributes set
	tgHealth      map[string]*tgHealthCheck    // target group ARN -> health check settings beyond the core's

	// CodeDeploy
	appTags   map[string][]tag // application ARN -> tags
	groupExt  map[string]*groupExt
	deployExt map[string]*deployExt

	// ECS
	serviceExt map[string]*serviceExt // service ARN
	tasks      map[string]*runTask    // task ARN -> a task RunTask started

	// ECR
	pushedAt map[string]map[string]int64 // repository -> digest -> epoch milliseconds first seen
	// memImages holds ECR's images when no ImageStore was given; it has its
	// own lock, since image operations run outside the world's.
	memImagesOnce sync.Once
	memImages     *memImages
}

func lazyMap[K comparable, V any](m *map[K]V) map[K]V {
	if *m == nil {
		*m = map[K]V{}
	}
	return *m
}
