package image

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/name"
)

// ECRAPI is the part of the ECR client release uses.
type ECRAPI interface {
	GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, optFns ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
	DescribeRepositories(ctx context.Context, in *ecr.DescribeRepositoriesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
	CreateRepository(ctx context.Context, in *ecr.CreateRepositoryInput, optFns ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error)
}

// ErrECRRepositoryMissing is returned when the ECR repository does not exist
// and creating it was not asked for.
var ErrECRRepositoryMissing = errors.New("ECR repository missing")

// ECRRepositoryName takes BG_ECR_REPOSITORY, a repository name ("team/web")
// or a full URI ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web"),
// and returns the repository name ECR's API wants.
func ECRRepositoryName(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	first, rest, ok := strings.Cut(s, "/")
	// A first part with a dot or a port is a host, as in Docker's own rule.
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return rest
	}
	return s
}

// ECR resolves repository (name or URI) to the repository URI ECS pulls from,
// creating it when create is set, and returns the registry login from
// GetAuthorizationToken: the token is "AWS:<password>" in base64 and is valid
// for 12 hours, for the registry host of the account and region the API
// client is configured for (aws-facts §6.1).
func ECR(ctx context.Context, api ECRAPI, repository string, create bool) (name.Repository, Credentials, error) {
	repoName := ECRRepositoryName(repository)
	uri, err := ecrRepositoryURI(ctx, api, repoName, create)
	if err != nil {
		return name.Repository{}, Credentials{}, err
	}
	repo, err := name.NewRepository(uri)
	if err != nil {
		return name.Repository{}, Credentials{}, fmt.Errorf("ECR returned repository URI %q that is not a repository: %w", uri, err)
	}
	creds, proxy, err := ecrLogin(ctx, api)
	if err != nil {
		return name.Repository{}, Credentials{}, err
	}
	creds.Host = repo.RegistryStr()
	if creds.Host == "" || creds.Host == name.DefaultRegistry {
		creds.Host = proxy
	}
	return repo, creds, nil
}

// ECRForReading is ECR for commands that only read tags (status, verify):
// the repository's address comes from the login's proxy endpoint (the
// account's registry, where every repository of the account lives), so no
// DescribeRepositories is made. A repository that does not exist shows as
// tags that cannot be read, which status reports and verify fails on.
func ECRForReading(ctx context.Context, api ECRAPI, repository string) (name.Repository, Credentials, error) {
	creds, proxy, err := ecrLogin(ctx, api)
	if err != nil {
		return name.Repository{}, Credentials{}, err
	}
	host := strings.TrimPrefix(strings.TrimPrefix(proxy, "https://"), "http://")
	repo, err := name.NewRepository(host + "/" + ECRRepositoryName(repository))
	if err != nil {
		return name.Repository{}, Credentials{}, fmt.Errorf("ECR repository %s at the login's endpoint %q is not a repository: %w", repository, proxy, err)
	}
	creds.Host = repo.RegistryStr()
	return repo, creds, nil
}

// ecrLogin is GetAuthorizationToken's user and password, and the registry
// endpoint it names.
func ecrLogin(ctx context.Context, api ECRAPI) (Credentials, string, error) {
	tok, err := api.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return Credentials{}, "", fmt.Errorf("getting an ECR login (the role needs ecr:GetAuthorizationToken): %w", err)
	}
	if len(tok.AuthorizationData) == 0 || tok.AuthorizationData[0].AuthorizationToken == nil {
		return Credentials{}, "", errors.New("ECR GetAuthorizationToken returned no authorization data")
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(tok.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		return Credentials{}, "", errors.New("ECR GetAuthorizationToken returned a token that is not base64")
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return Credentials{}, "", errors.New("ECR GetAuthorizationToken returned a token that is not user:password")
	}
	return Credentials{User: user, Password: password}, aws.ToString(tok.AuthorizationData[0].ProxyEndpoint), nil
}

func ecrRepositoryURI(ctx context.Context, api ECRAPI, repoName string, create bool) (string, error) {
	out, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repoName}})
	var notFound *ecrtypes.RepositoryNotFoundException
	switch {
	case err == nil && len(out.Repositories) > 0:
		return aws.ToString(out.Repositories[0].RepositoryUri), nil
	case err != nil && !errors.As(err, &notFound):
		return "", fmt.Errorf("looking up ECR repository %s (the role needs ecr:DescribeRepositories): %w", repoName, err)
	case !create:
		return "", fmt.Errorf("%w: ECR repository %s does not exist in this account and region; create it (aws ecr create-repository --repository-name %s) or set BG_ECR_CREATE=true",
			ErrECRRepositoryMissing, repoName, repoName)
	}
	for attempt := 1; ; attempt++ {
		created, err := api.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repoName)})
		var exists *ecrtypes.RepositoryAlreadyExistsException
		if errors.As(err, &exists) {
			// Another job created it between our two calls.
			return ecrRepositoryURI(ctx, api, repoName, false)
		}
		if err == nil {
			return aws.ToString(created.Repository.RepositoryUri), nil
		}
		// The answer may be lost after ECR created the repository: read it
		// back. Not there means the call did nothing, and asking again is safe.
		if uri, rerr := ecrRepositoryURI(ctx, api, repoName, false); rerr == nil {
			return uri, nil
		} else if !errors.Is(rerr, ErrECRRepositoryMissing) || answered(err) || attempt == 5 || ctx.Err() != nil {
			return "", fmt.Errorf("creating ECR repository %s (BG_ECR_CREATE=true; the role needs ecr:CreateRepository): %w", repoName, err)
		}
	}
}

// answered reports whether err is AWS's own answer to the call (so it did
// not change anything), not a lost or server-side failure.
func answered(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorFault() != smithy.FaultServer
}
