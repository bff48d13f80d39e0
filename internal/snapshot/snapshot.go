// Package snapshot reads both colours of a blue/green service from ECS,
// ELBv2 and CodeDeploy into one Snapshot. Status, verify, switch and the
// reports read a Snapshot; none of them talks to AWS on its own.
package snapshot

import (
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Colour names one of the two sides. In the codedeploy model the colours are
// the deployment group's two target groups, in order (blue first), so a
// colour keeps its name across deployments even though CodeDeploy's own
// Blue/Green labels swap every time.
type Colour string

// The two colours.
const (
	Blue  Colour = "blue"
	Green Colour = "green"
)

// Snapshot is both colours of a service at one moment.
type Snapshot struct {
	Taken   time.Time `json:"taken"`
	Model   string    `json:"model"`
	Cluster string    `json:"cluster"`
	Service string    `json:"service"`
	// Live is the colour with all production traffic; empty while traffic is
	// split or when no listener forwards to either colour.
	Live    Colour        `json:"live,omitempty"`
	Colours []ColourState `json:"colours"`
	// Group is the CodeDeploy deployment group (codedeploy model).
	Group *Group `json:"group,omitempty"`
	// Routes are the production and test listeners or rules (listener model).
	Routes *Routes `json:"routes,omitempty"`
	// InFlight is the deployment in progress, if any.
	InFlight *Deployment `json:"inFlight,omitempty"`
	// LastSuccessful is the group's last successful deployment.
	LastSuccessful *Deployment `json:"lastSuccessful,omitempty"`
	// Registry are the live and previous tags in each registry release
	// copies to, when those are configured.
	Registry []RegistryTag `json:"registry,omitempty"`
	// History are the group's last deployments, newest first (BG_HISTORY).
	History []HistoryEntry `json:"history,omitempty"`
	// Timeline is production traffic per colour during the last deployment.
	Timeline *Timeline `json:"timeline,omitempty"`
	// StatusPage is this report's status.html where GitLab keeps it (the
	// job's artifact), when the run is a GitLab job.
	StatusPage string `json:"statusPage,omitempty"`
	// Warnings are verify's checks that found something short of a failure
	// (an image given by tag): the status reports show them.
	Warnings []string `json:"warnings,omitempty"`
}

// RegistryTag is what one tag of one repository names.
type RegistryTag struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	// Digest is empty when the tag does not exist.
	Digest string `json:"digest,omitempty"`
	// Error says why the tag could not be read.
	Error string `json:"error,omitempty"`
}

// ColourState is one colour: where its traffic comes from and what runs there.
type ColourState struct {
	Colour Colour `json:"colour"`
	// Service is the colour's ECS service (listener model).
	Service        string `json:"service,omitempty"`
	TargetGroup    string `json:"targetGroup"`
	TargetGroupARN string `json:"targetGroupArn,omitempty"`
	// ProductionWeight and TestWeight are percentages of each listener's
	// traffic, worked out from the listener weights (0–999).
	ProductionWeight float64  `json:"productionWeight"`
	TestWeight       float64  `json:"testWeight"`
	TaskSet          *TaskSet `json:"taskSet,omitempty"`
	// TaskDefinition is the task definition ARN running on this colour.
	TaskDefinition string      `json:"taskDefinition,omitempty"`
	Containers     []Container `json:"containers,omitempty"`
	Healthy        int         `json:"healthy"`
	Unhealthy      []Target    `json:"unhealthy,omitempty"`
	// Other counts targets neither healthy nor unhealthy (initial, draining).
	Other int `json:"other"`
	// IsProduction is the target group's IsProduction tag (listener model):
	// "true", "false", or empty when the tag is missing.
	IsProduction string `json:"isProduction,omitempty"`
	// Origin is the target group's TagOrigin tag (listener model): the
	// pipeline whose deploy last put a release on this colour, as
	// "<project> pipeline <id>"; empty when no pipeline's deploy did.
	Origin string `json:"origin,omitempty"`
	// ServiceState is the colour's ECS service as read in this observation
	// (listener model), for what acts on it next (render's fallback to the
	// live task definition) so it is not read twice.
	ServiceState *ecstypes.Service `json:"-"`
	// Release is what runs here as a person names it: commit, pipeline,
	// version, since when (history.go).
	Release *Release `json:"release,omitempty"`
}

// Routes are the listener model's production and test routes: each a
// listener (its default action) or a listener rule.
type Routes struct {
	// Production and Test are the routes that carry the traffic: a rule
	// when a listener's rule forwards to the colours, else the listener.
	Production string `json:"production"`
	Test       string `json:"test,omitempty"`
	// Actions are each route's actions as read, so the switch rewrites the
	// route it observed without reading it again.
	Actions map[string][]elbtypes.Action `json:"-"`
}

// TaskSet is an ECS task set.
type TaskSet struct {
	ID        string `json:"id"`
	Status    string `json:"status"` // PRIMARY, ACTIVE, DRAINING
	Desired   int32  `json:"desired"`
	Running   int32  `json:"running"`
	Pending   int32  `json:"pending"`
	Stability string `json:"stability"`
	// DeploymentID is the CodeDeploy deployment that created the task set
	// (its externalId when CodeDeploy started it).
	DeploymentID string `json:"deploymentId,omitempty"`
}

// Container is one container of a task definition and its image.
type Container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

// Target is a load balancer target that is not healthy, and why.
type Target struct {
	ID          string `json:"id"`
	Port        int32  `json:"port,omitempty"`
	State       string `json:"state"`
	Reason      string `json:"reason,omitempty"`
	Description string `json:"description,omitempty"`
}

// Group is a CodeDeploy deployment group as the snapshot needs it.
type Group struct {
	Application      string   `json:"application"`
	Name             string   `json:"name"`
	DeploymentConfig string   `json:"deploymentConfig"`
	ProdListener     string   `json:"prodListener"`
	TestListener     string   `json:"testListener,omitempty"`
	Alarms           []string `json:"alarms,omitempty"`
}

// Deployment is a CodeDeploy deployment in brief.
type Deployment struct {
	ID          string    `json:"id"`
	Status      string    `json:"status"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created,omitzero"`
	Ended       time.Time `json:"ended,omitzero"`
}

// Colour returns the state of colour c.
func (s *Snapshot) Colour(c Colour) *ColourState {
	for i := range s.Colours {
		if s.Colours[i].Colour == c {
			return &s.Colours[i]
		}
	}
	return nil
}

// Other returns the other colour.
func (c Colour) Other() Colour {
	if c == Blue {
		return Green
	}
	return Blue
}
