package awssim

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/wire"
)

// ImageStore is the content of the registry ECR repositories live on: ECR's
// image operations (DescribeImages, ListImages, BatchGetImage, PutImage)
// answer from it. The sandbox passes its registry; without one the
// simulator keeps manifests in memory.
type ImageStore interface {
	// Tags lists a repository's tags; a repository nothing was pushed to
	// has none (not an error).
	Tags(ctx context.Context, repo string) ([]string, error)
	// Manifest returns the manifest a tag or a digest names and its media
	// type, or ErrImageNotFound.
	Manifest(ctx context.Context, repo, ref string) (body []byte, mediaType string, err error)
	// PutManifest stores a manifest under a tag or its digest, or answers
	// ErrLayersNotFound when a blob it references is missing.
	PutManifest(ctx context.Context, repo, ref string, body []byte, mediaType string) error
}

// digestLister is an ImageStore that can also list manifests no tag names
// (a registry's API cannot, so ListImages shows untagged images only from
// the in-memory store).
type digestLister interface {
	Digests(ctx context.Context, repo string) ([]string, error)
}

// Errors an ImageStore answers.
var (
	ErrImageNotFound  = errors.New("image not found")
	ErrLayersNotFound = errors.New("a layer or config the manifest references is not in the repository")
)

// WithImageStore makes ECR's image operations answer from store (the
// sandbox's registry).
func WithImageStore(store ImageStore) Option { return func(s *Server) { s.env.Images = store } }

// memImages is the in-memory ImageStore.
type memImages struct {
	mu        sync.Mutex
	tags      map[string]map[string]string // repo -> tag -> digest
	manifests map[string]map[string]memManifest
}

type memManifest struct {
	body      []byte
	mediaType string
}

func (m *memImages) Tags(_ context.Context, repo string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.tags[repo]))
	for t := range m.tags[repo] {
		out = append(out, t)
	}
	sort.Strings(out)
	return out, nil
}

func (m *memImages) Digests(_ context.Context, repo string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.manifests[repo]))
	for d := range m.manifests[repo] {
		out = append(out, d)
	}
	sort.Strings(out)
	return out, nil
}

func (m *memImages) Manifest(_ context.Context, repo, ref string) ([]byte, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d, ok := m.tags[repo][ref]; ok {
		ref = d
	}
	mf, ok := m.manifests[repo][ref]
	if !ok {
		return nil, "", ErrImageNotFound
	}
	return mf.body, mf.mediaType, nil
}

func (m *memImages) PutManifest(_ context.Context, repo, ref string, body []byte, mediaType string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tags == nil {
		m.tags, m.manifests = map[string]map[string]string{}, map[string]map[string]memManifest{}
	}
	if m.manifests[repo] == nil {
		m.manifests[repo], m.tags[repo] = map[string]memManifest{}, map[string]string{}
	}
	digest := "sha256:" + sha256Hex(string(body))
	m.manifests[repo][digest] = memManifest{body: body, mediaType: mediaType}
	if !strings.HasPrefix(ref, "sha256:") {
		m.tags[repo][ref] = digest
	}
	return nil
}

// images is the store ECR answers from.
func (w *World) images() ImageStore {
	if w.env.Images != nil {
		return w.env.Images
	}
	w.ext.memImagesOnce.Do(func() { w.ext.memImages = &memImages{} })
	return w.ext.memImages
}

// ecrImageOps are the operations answered from the image store. They run
// outside the world's lock: the store may be a registry across HTTP.
var ecrImageOps = map[string]func(*World, context.Context, []byte) (any, error){
	"DescribeImages": (*World).describeImages,
	"ListImages":     (*World).listImages,
	"BatchGetImage":  (*World).batchGetImage,
	"PutImage":       (*World).putImage,
}

// ecrFace answers the image operations itself and hands the others on.
func (w *World) ecrFace(next func(context.Context, string, []byte) (any, error)) func(context.Context, string, []byte) (any, error) {
	return func(ctx context.Context, op string, body []byte) (any, error) {
		if fn := ecrImageOps[op]; fn != nil {
			return fn(w, ctx, body)
		}
		return next(ctx, op, body)
	}
}

type imageID struct {
	Digest string `json:"imageDigest,omitempty"`
	Tag    string `json:"imageTag,omitempty"`
}

type ecrImagesIn struct {
	RegistryID     string    `json:"registryId"`
	RepositoryName string    `json:"repositoryName"`
	ImageIDs       []imageID `json:"imageIds"`
	NextToken      string    `json:"nextToken"`
	MaxResults     int       `json:"maxResults"`
	Filter         *struct {
		TagStatus string `json:"tagStatus"`
	} `json:"filter"`
	// BatchGetImage, PutImage
	AcceptedMediaTypes []string `json:"acceptedMediaTypes"`
	ImageManifest      string   `json:"imageManifest"`
	ManifestMediaType  string   `json:"imageManifestMediaType"`
	ImageTag           string   `json:"imageTag"`
	ImageDigest        string   `json:"imageDigest"`
}

// checkRepository reads the input and checks, under the lock, that the
// repository exists in this registry.
func (w *World) checkRepository(body []byte) (ecrImagesIn, error) {
	var in ecrImagesIn
	if err := wire.DecodeJSON(body, &in); err != nil {
		return in, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if in.RepositoryName == "" {
		return in, wire.Errorf("InvalidParameterException", "repositoryName is required")
	}
	if (in.RegistryID != "" && in.RegistryID != w.env.Account) || w.repositories[in.RepositoryName] == nil {
		return in, wire.Errorf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", in.RepositoryName, orDefault(in.RegistryID, w.env.Account))
	}
	return in, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// imageRecord is one manifest of a repository with its tags.
type imageRecord struct {
	digest, mediaType, artifactType string
	tags                            []string
	size                            int64
	body                            []byte
}

// repositoryImages reads every manifest the store can name in a
// repository, grouped by digest, in digest order.
func (w *World) repositoryImages(ctx context.Context, repo string) ([]*imageRecord, error) {
	store := w.images()
	tags, err := store.Tags(ctx, repo)
	if err != nil {
		return nil, wire.Errorf("ServerException", "reading the tags of %s from the registry: %v", repo, err)
	}
	byDigest := map[string]*imageRecord{}
	read := func(ref string) (*imageRecord, error) {
		body, mt, err := store.Manifest(ctx, repo, ref)
		if err != nil {
			return nil, err
		}
		d := "sha256:" + sha256Hex(string(body))
		r := byDigest[d]
		if r == nil {
			r = describeManifest(d, body, mt)
			byDigest[d] = r
		}
		return r, nil
	}
	for _, t := range tags {
		r, err := read(t)
		if errors.Is(err, ErrImageNotFound) {
			continue // deleted between the two reads
		}
		if err != nil {
			return nil, wire.Errorf("ServerException", "reading %s:%s from the registry: %v", repo, t, err)
		}
		r.tags = append(r.tags, t)
	}
	if dl, ok := store.(digestLister); ok {
		digests, err := dl.Digests(ctx, repo)
		if err != nil {
			return nil, wire.Errorf("ServerException", "listing the manifests of %s: %v", repo, err)
		}
		for _, d := range digests {
			if _, err := read(d); err != nil && !errors.Is(err, ErrImageNotFound) {
				return nil, wire.Errorf("ServerException", "reading %s@%s: %v", repo, d, err)
			}
		}
	}
	out := make([]*imageRecord, 0, len(byDigest))
	for _, r := range byDigest {
		sort.Strings(r.tags)
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].digest < out[j].digest })
	w.mu.Lock()
	for _, r := range out {
		w.firstSeen(repo, r.digest)
	}
	w.mu.Unlock()
	return out, nil
}

// describeManifest reads what ECR reports of a manifest: its media types
// and the size of the image (config and layers; for an index, the
// manifests it lists).
func describeManifest(digest string, body []byte, mediaType string) *imageRecord {
	var m struct {
		MediaType string `json:"mediaType"`
		Config    struct {
			MediaType string `json:"mediaType"`
			Size      int64  `json:"size"`
		} `json:"config"`
		Layers []struct {
			Size int64 `json:"size"`
		} `json:"layers"`
		Manifests []struct {
			Size int64 `json:"size"`
		} `json:"manifests"`
	}
	_ = json.Unmarshal(body, &m)
	r := &imageRecord{digest: digest, mediaType: orDefault(mediaType, m.MediaType), artifactType: m.Config.MediaType, body: body, size: m.Config.Size}
	for _, l := range m.Layers {
		r.size += l.Size
	}
	for _, x := range m.Manifests {
		r.size += x.Size
	}
	return r
}

// firstSeen is when the simulator first saw a digest in a repository: what
// it reports as imagePushedAt (a registry does not record it).
func (w *World) firstSeen(repo, digest string) time.Time {
	seen := lazyMap(&w.ext.pushedAt)
	if seen[repo] == nil {
		seen[repo] = map[string]int64{}
	}
	if _, ok := seen[repo][digest]; !ok {
		seen[repo][digest] = w.now().UnixMilli()
	}
	return time.UnixMilli(seen[repo][digest]).UTC()
}

func tagStatusMatches(filter string, r *imageRecord) bool {
	switch filter {
	case "TAGGED":
		return len(r.tags) > 0
	case "UNTAGGED":
		return len(r.tags) == 0
	}
	return true
}

func checkTagStatus(in ecrImagesIn) error {
	if in.Filter != nil {
		switch in.Filter.TagStatus {
		case "", "TAGGED", "UNTAGGED", "ANY":
		default:
			return wire.Errorf("InvalidParameterException", "Invalid parameter at 'filter.tagStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [TAGGED, ANY, UNTAGGED]'")
		}
	}
	return nil
}

// pageImages pages items as ECR does: nextToken is an opaque position.
func pageImages[T any](items []T, token string, max, defaultMax int) ([]T, string, error) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", wire.Errorf("InvalidParameterException", "Invalid parameter at 'nextToken': the token is not valid")
		}
		start = n
	}
	if max < 0 || max > 1000 {
		return nil, "", wire.Errorf("InvalidParameterException", "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and 1000'")
	}
	if max == 0 {
		max = defaultMax
	}
	end := min(start+max, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

func (w *World) listImages(ctx context.Context, body []byte) (any, error) {
	in, err := w.checkRepository(body)
	if err != nil {
		return nil, err
	}
	if err := checkTagStatus(in); err != nil {
		return nil, err
	}
	recs, err := w.repositoryImages(ctx, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	filter := ""
	if in.Filter != nil {
		filter = in.Filter.TagStatus
	}
	ids := []imageID{}
	for _, r := range recs {
		if !tagStatusMatches(filter, r) {
			continue
		}
		if len(r.tags) == 0 {
			ids = append(ids, imageID{Digest: r.digest})
		}
		for _, t := range r.tags {
			ids = append(ids, imageID{Digest: r.digest, Tag: t})
		}
	}
	page, next, err := pageImages(ids, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"imageIds": page}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (w *World) imageDetail(repo string, r *imageRecord) map[string]any {
	w.mu.Lock()
	pushed := w.firstSeen(repo, r.digest)
	w.mu.Unlock()
	d := map[string]any{
		"registryId": w.env.Account, "repositoryName": repo, "imageDigest": r.digest, "imageSizeInBytes": r.size,
		"imagePushedAt": wire.EpochSeconds(pushed), "imageManifestMediaType": r.mediaType, "imageStatus": "ACTIVE",
	}
	if len(r.tags) > 0 {
		d["imageTags"] = r.tags
	}
	if r.artifactType != "" {
		d["artifactMediaType"] = r.artifactType
	}
	return d
}

// findImage resolves an imageId against a repository's images, with the
// failure code BatchGetImage gives when it cannot.
func findImage(recs []*imageRecord, id imageID) (*imageRecord, string, string) {
	if id.Digest == "" && id.Tag == "" {
		return nil, "MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null"
	}
	if id.Digest != "" && !strings.HasPrefix(id.Digest, "sha256:") {
		return nil, "InvalidImageDigest", "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"
	}
	for _, r := range recs {
		if id.Digest != "" && r.digest != id.Digest {
			continue
		}
		if id.Tag != "" && !contains(r.tags, id.Tag) {
			if id.Digest != "" {
				return nil, "ImageTagDoesNotMatchDigest", "Invalid request parameters: given tag '" + id.Tag + "' does not match digest '" + id.Digest + "'"
			}
			continue
		}
		return r, "", ""
	}
	return nil, "ImageNotFound", "Requested image not found"
}

func (w *World) describeImages(ctx context.Context, body []byte) (any, error) {
	in, err := w.checkRepository(body)
	if err != nil {
		return nil, err
	}
	if err := checkTagStatus(in); err != nil {
		return nil, err
	}
	if len(in.ImageIDs) > 0 && (in.NextToken != "" || in.MaxResults != 0) {
		return nil, wire.Errorf("InvalidParameterException", "Invalid parameter: maxResults and nextToken cannot be used with imageIds")
	}
	recs, err := w.repositoryImages(ctx, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	var picked []*imageRecord
	if len(in.ImageIDs) > 0 {
		for _, id := range in.ImageIDs {
			r, code, _ := findImage(recs, id)
			if r == nil {
				if code == "ImageNotFound" || code == "ImageTagDoesNotMatchDigest" {
					return nil, wire.Errorf("ImageNotFoundException", "The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'", id.Digest, id.Tag, in.RepositoryName, w.env.Account)
				}
				return nil, wire.Errorf("InvalidParameterException", "Invalid parameter at 'imageIds': %s", code)
			}
			if !containsRecord(picked, r) {
				picked = append(picked, r)
			}
		}
	} else {
		filter := ""
		if in.Filter != nil {
			filter = in.Filter.TagStatus
		}
		for _, r := range recs {
			if tagStatusMatches(filter, r) {
				picked = append(picked, r)
			}
		}
	}
	page, next, err := pageImages(picked, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	details := []any{}
	for _, r := range page {
		details = append(details, w.imageDetail(in.RepositoryName, r))
	}
	out := map[string]any{"imageDetails": details}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func containsRecord(list []*imageRecord, r *imageRecord) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

func (w *World) batchGetImage(ctx context.Context, body []byte) (any, error) {
	in, err := w.checkRepository(body)
	if err != nil {
		return nil, err
	}
	if len(in.ImageIDs) == 0 {
		return nil, wire.Errorf("InvalidParameterException", "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length greater than or equal to 1'")
	}
	if len(in.ImageIDs) > 100 {
		return nil, wire.Errorf("InvalidParameterException", "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length less than or equal to 100'")
	}
	recs, err := w.repositoryImages(ctx, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	images, failures := []any{}, []any{}
	for _, id := range in.ImageIDs {
		r, code, reason := findImage(recs, id)
		if r == nil {
			failures = append(failures, map[string]any{"imageId": id, "failureCode": code, "failureReason": reason})
			continue
		}
		got := id
		got.Digest = r.digest
		images = append(images, map[string]any{
			"registryId": w.env.Account, "repositoryName": in.RepositoryName, "imageId": got,
			"imageManifest": string(r.body), "imageManifestMediaType": r.mediaType,
		})
	}
	return map[string]any{"images": images, "failures": failures}, nil
}

// tagChars are the characters of an image tag ([a-zA-Z0-9_.-]).
const tagChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

func validTag(t string) bool {
	if t == "" || len(t) > 300 {
		return false
	}
	for _, c := range t {
		if !strings.ContainsRune(tagChars, c) {
			return false
		}
	}
	return true
}

func (w *World) putImage(ctx context.Context, body []byte) (any, error) {
	in, err := w.checkRepository(body)
	if err != nil {
		return nil, err
	}
	if in.ImageManifest == "" {
		return nil, wire.Errorf("InvalidParameterException", "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Member must have length greater than or equal to 1'")
	}
	if in.ImageTag != "" && !validTag(in.ImageTag) {
		return nil, wire.Errorf("InvalidParameterException", "Invalid parameter at 'imageTag' failed to satisfy constraint: 'Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]{1,300}'")
	}
	var m struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
	}
	if err := json.Unmarshal([]byte(in.ImageManifest), &m); err != nil || m.SchemaVersion == 0 {
		return nil, wire.Errorf("InvalidParameterException", "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'")
	}
	mt := orDefault(in.ManifestMediaType, m.MediaType)
	if mt == "" {
		mt = "application/vnd.oci.image.manifest.v1+json"
	}
	digest := "sha256:" + sha256Hex(in.ImageManifest)
	if in.ImageDigest != "" && in.ImageDigest != digest {
		return nil, wire.Errorf("ImageDigestDoesNotMatchException", "Invalid parameter at 'imageDigest': the digest %s does not match the digest of the manifest, %s", in.ImageDigest, digest)
	}
	store := w.images()
	ref := in.ImageTag
	if ref == "" {
		ref = digest
	}
	if body, _, err := store.Manifest(ctx, in.RepositoryName, ref); err == nil && "sha256:"+sha256Hex(string(body)) == digest {
		return nil, wire.Errorf("ImageAlreadyExistsException", "Image with digest '%s' and tag '%s' already exists in the repository with name '%s' in registry with id '%s'", digest, in.ImageTag, in.RepositoryName, w.env.Account)
	}
	if err := store.PutManifest(ctx, in.RepositoryName, ref, []byte(in.ImageManifest), mt); err != nil {
		if errors.Is(err, ErrLayersNotFound) {
			return nil, wire.Errorf("LayersNotFoundException", "The image manifest references layers or a config that are not in the repository %s: push them first.", in.RepositoryName)
		}
		return nil, wire.Errorf("ServerException", "storing the manifest in the registry: %v", err)
	}
	w.mu.Lock()
	w.firstSeen(in.RepositoryName, digest)
	w.mu.Unlock()
	id := imageID{Digest: digest, Tag: in.ImageTag}
	return map[string]any{"image": map[string]any{
		"registryId": w.env.Account, "repositoryName": in.RepositoryName, "imageId": id,
		"imageManifest": in.ImageManifest, "imageManifestMediaType": mt,
	}}, nil
}
