// Package sandbox runs the AWS simulator, an in-memory container registry
// and a seeded blue/green world on loopback, so the real commands, the AWS
// CLI and a local pipeline can run with no AWS account.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-containerregistry/pkg/registry"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// Options configure Start.
type Options struct {
	// AWSAddr and RegistryAddr are the loopback addresses to listen on
	// ("127.0.0.1:0" picks free ports).
	AWSAddr, RegistryAddr string
	// Speed is how much faster than real time the simulated clock runs.
	Speed float64
	// Seed creates the typical world (cluster prod, service web, ...).
	Seed bool
	Log  *slog.Logger
}

// Sandbox is a running simulator and registry.
type Sandbox struct {
	Sim          *awssim.Server
	AWSURL       string
	RegistryHost string
	World        *seed.World
	// ProdURL and TestURL reach the seeded listeners through the data plane.
	ProdURL, TestURL string
	servers          []*http.Server
}

// registry credentials for the GitLab side of the sandbox.
const (
	gitlabUser     = "gitlab-ci-token"
	gitlabPassword = "sandbox-job-token"
)

// Start listens and serves until Close.
func Start(ctx context.Context, o Options) (*Sandbox, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Speed <= 0 {
		o.Speed = 1
	}
	var lc net.ListenConfig
	regLn, err := lc.Listen(ctx, "tcp", defaultAddr(o.RegistryAddr))
	if err != nil {
		return nil, fmt.Errorf("listening for the registry: %w", err)
	}
	awsLn, err := lc.Listen(ctx, "tcp", defaultAddr(o.AWSAddr))
	if err != nil {
		_ = regLn.Close()
		return nil, fmt.Errorf("listening for the AWS simulator: %w", err)
	}
	sb := &Sandbox{RegistryHost: regLn.Addr().String(), AWSURL: "http://" + awsLn.Addr().String()}
	sb.Sim = awssim.New(awssim.WithClock(clock.NewScaled(o.Speed)), awssim.WithRegistryHost(sb.RegistryHost), awssim.WithLogger(o.Log))
	ecrUser, ecrPass := sb.Sim.ECRCredentials()
	reg := &basicAuth{next: registry.New(registry.Logger(log.New(io.Discard, "", 0))), users: map[string]string{ecrUser: ecrPass, gitlabUser: gitlabPassword}}
	sb.serve(regLn, reg)
	sb.serve(awsLn, sb.Sim)
	if o.Seed {
		cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("sandbox", "sandbox", ""), BaseEndpoint: aws.String(sb.AWSURL)}
		w, err := seed.Create(ctx, seed.Clients{ECS: ecs.NewFromConfig(cfg), ELB: elb.NewFromConfig(cfg), CodeDeploy: codedeploy.NewFromConfig(cfg), ECR: ecr.NewFromConfig(cfg)}, seed.Options{
			DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes", TerminationWaitMinutes: 5,
		})
		if err != nil {
			sb.Close()
			return nil, fmt.Errorf("seeding the sandbox: %w", err)
		}
		sb.World = w
		dp := sb.Sim.DataPlane()
		prod, err := dp.Bind(ctx, w.ProdListenerARN, "127.0.0.1:0")
		if err == nil {
			var test string
			test, err = dp.Bind(ctx, w.TestListenerARN, "127.0.0.1:0")
			sb.ProdURL, sb.TestURL = "http://"+prod+"/", "http://"+test+"/"
		}
		if err != nil {
			sb.Close()
			return nil, fmt.Errorf("binding the sandbox listeners: %w", err)
		}
	}
	return sb, nil
}

func defaultAddr(a string) string {
	if a == "" {
		return "127.0.0.1:0"
	}
	return a
}

func (sb *Sandbox) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	sb.servers = append(sb.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
}

// Close stops the servers.
func (sb *Sandbox) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range sb.servers {
		_ = s.Shutdown(ctx)
	}
	sb.Sim.DataPlane().Close()
}

// Exports are the shell lines that point ecs-bluegreen, the AWS CLI and a
// local pipeline at the sandbox.
func (sb *Sandbox) Exports() []string {
	lines := []string{
		"export AWS_ENDPOINT_URL=" + sb.AWSURL,
		// The SDK's web identity provider ignores the global variable (aws-facts §1.6).
		"export AWS_ENDPOINT_URL_STS=" + sb.AWSURL,
		"export AWS_REGION=eu-west-1",
		"export AWS_DEFAULT_REGION=eu-west-1",
		"export AWS_ACCESS_KEY_ID=sandbox",
		"export AWS_SECRET_ACCESS_KEY=sandbox",
		"export CI_REGISTRY=" + sb.RegistryHost,
		"export CI_REGISTRY_IMAGE=" + sb.RegistryHost + "/sandbox/web",
		"export CI_REGISTRY_USER=" + gitlabUser,
		"export CI_REGISTRY_PASSWORD=" + gitlabPassword,
	}
	if w := sb.World; w != nil {
		lines = append(lines,
			"export BG_CLUSTER="+w.Cluster,
			"export BG_SERVICE="+w.Service,
			"export BG_ECR_REPOSITORY="+w.Repository,
			"export BG_PROD_URL="+sb.ProdURL,
			"export BG_TEST_URL="+sb.TestURL,
		)
	}
	return lines
}

// basicAuth guards the registry like GitLab's and ECR's: every request needs
// one of the known user/password pairs.
type basicAuth struct {
	next  http.Handler
	users map[string]string
}

func (b *basicAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || b.users[user] == "" || b.users[user] != pass {
		w.Header().Set("WWW-Authenticate", `Basic realm="ecs-bluegreen sandbox"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
		return
	}
	b.next.ServeHTTP(w, r)
}

// String describes the sandbox in one line.
func (sb *Sandbox) String() string {
	return strings.Join([]string{"AWS " + sb.AWSURL, "registry " + sb.RegistryHost}, ", ")
}
