package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/version"
)

// command is one entry of the command table.
type command struct {
	name    string
	summary string
	usage   string
	details string
	// families are the config families the command reads, by config.Family name.
	families []string
	// optional families are read only when the variable optionalIf is set:
	// render compares with the live service when told where it is, and
	// needs no AWS otherwise.
	optional   []string
	optionalIf string
	// run does the work once the settings are loaded and valid.
	run func(ctx context.Context, inv *invocation) error
}

func (c *command) reads(family string) bool {
	return slices.Contains(c.families, family) || slices.Contains(c.optional, family)
}

// awsFamilies are read by every command that talks to AWS about a service.
var awsFamilies = []string{"aws", "target", "output", "log"}

func with(base []string, more ...string) []string {
	return append(slices.Clone(base), more...)
}

// commands returns the command table in the order `help` lists it.
func commands() []*command {
	return []*command{
		{
			name: "build", summary: "Build the application image without a Docker daemon and push it by digest",
			families: []string{"build", "registries", "output", "log"}, run: runBuild,
		},
		{
			name: "release", summary: "Tag the image for the candidate colour and copy it by digest to the GitLab registry and ECR",
			families: []string{"image", "registries", "output", "log"}, optional: []string{"aws"}, optionalIf: "BG_ECR_REPOSITORY", run: runRelease,
		},
		{
			name: "render", summary: "Rewrite taskdef.json and appspec.yml for the image, validate them and show the difference from what is live",
			families: []string{"render", "image", "output", "log"}, optional: []string{"aws", "target"}, optionalIf: "BG_CLUSTER", run: runRender,
			details: "With BG_CLUSTER and BG_SERVICE set (and AWS reachable) it also checks the service's launch type and prints the changes from the live task definition.",
		},
		{
			name: "deploy", summary: "Render, register, then start the blue/green deployment and watch it to the end",
			families: with(awsFamilies, "codedeploy", "render", "image", "registries", "checks", "deployment", "switch", "watch"), run: viaModel(deploy.Model.Deploy),
		},
		{
			name: "promote", summary: "Let a deployment waiting at Ready move production traffic (or switch, in the listener model), then watch",
			families: with(awsFamilies, "codedeploy", "checks", "deployment", "switch", "watch", "registries"), run: toColour(deploy.Model.Promote),
		},
		{
			name: "rollback", summary: "Stop the in-flight deployment with rollback, or redeploy the previous live revision; then watch",
			families: with(awsFamilies, "codedeploy", "checks", "deployment", "switch", "watch", "registries"), run: viaModel(deploy.Model.Rollback),
		},
		{
			name: "finish", summary: "End the wait before the old colour is terminated",
			families: with(awsFamilies, "codedeploy", "deployment", "watch"), run: viaModel(deploy.Model.Finish),
		},
		{
			name: "switch", summary: "Listener model: point production at the other colour", usage: "switch [--to blue|green]",
			details: "Without --to or BG_SWITCH_TO, production goes to the colour this pipeline's deploy prepared (ECS_BLUEGREEN_IDLE_COLOUR in deploy.env), else to the idle one. " +
				"Each step of BG_SWITCH_STEPS is one rewrite of the production listener or rule; before each step and while it bakes, the new colour must be healthy and BG_ALARMS OK, " +
				"or production goes back (exit 1). Afterwards the test route serves the old colour and the IsProduction tags follow.",
			families: with(awsFamilies, "checks", "switch", "watch", "registries"), run: toColour(deploy.Model.Switch),
		},
		{
			name: "status", summary: "Show both colours, which is live and the traffic split; write the status reports",
			families: with(awsFamilies, "codedeploy", "registries", "status"), run: runStatus,
		},
		{
			name: "verify", summary: "Check what is live (health, drift, URLs, alarms, stuck deployments); JUnit report; exit 4 on a problem",
			families: with(awsFamilies, "codedeploy", "checks", "switch", "registries", "status"), run: runVerify,
		},
		{
			name: "cleanup", summary: "Deregister old task definition revisions, keeping the newest and everything a colour uses",
			families: with(awsFamilies, "codedeploy", "cleanup"), run: runCleanup,
		},
		{
			name: "migrate", summary: "Move a CodeDeploy blue/green service to ECS blue/green, reusing its load balancer, target groups and listeners", usage: "migrate [--apply] [--role-arn ARN]",
			details: "A dry run unless --apply: it prints every change (listener rules, the service's deployment controller, strategy, bake time, hooks, alarms and advancedConfiguration) and every missing prerequisite. " +
				"--role-arn is the role ECS assumes to change the listener rules. Refused while a CodeDeploy deployment is in flight.",
			families: with(awsFamilies, "codedeploy"), run: runMigrate,
		},
		{
			name: "sandbox", summary: "Run the whole flow against the embedded AWS simulator; `sandbox serve` keeps it running", usage: "sandbox [serve [--ready-action STOP_DEPLOYMENT|CONTINUE_DEPLOYMENT] [--ready-wait MINUTES] [--deployment-config NAME] [--termination-wait MINUTES]]",
			families: []string{"sandbox", "output", "log"}, run: runSandbox,
		},
		{name: "version", summary: "Print the version", usage: "version [--json]", run: runVersion},
		{name: "env", summary: "List every setting with its default and current value", usage: "env [--markdown]", run: runEnv},
		{name: "help", summary: "Show the commands, or one command's settings", usage: "help [command]", run: runHelp},
	}
}

func lookup(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func runVersion(_ context.Context, inv *invocation) error {
	info := version.Get()
	if slices.Contains(inv.args, "--json") {
		enc := json.NewEncoder(inv.env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	_, err := fmt.Fprintln(inv.env.Stdout, info.String())
	return err
}

func runHelp(_ context.Context, inv *invocation) error {
	if len(inv.args) == 0 {
		writeUsage(inv.env.Stdout)
		return nil
	}
	c := lookup(inv.args[0])
	if c == nil {
		return &usageError{msg: fmt.Sprintf("unknown command %q", inv.args[0]), hint: "run `ecs-bluegreen help` for the list of commands"}
	}
	writeCommandHelp(inv.env.Stdout, c)
	return nil
}

func writeUsage(w io.Writer) {
	fmt.Fprintf(w, "ecs-bluegreen: blue/green deployments of Amazon ECS services from GitLab CI/CD\n\n")
	fmt.Fprintf(w, "Usage: ecs-bluegreen <command> [arguments]\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nSettings are environment variables (BG_*, AWS_*, CI_*): `ecs-bluegreen help <command>` lists\nthe ones a command reads, `ecs-bluegreen env` all of them.\n")
}

func writeCommandHelp(w io.Writer, c *command) {
	usage := c.usage
	if usage == "" {
		usage = c.name
	}
	fmt.Fprintf(w, "Usage: ecs-bluegreen %s\n\n%s.\n", usage, c.summary)
	if c.details != "" {
		fmt.Fprintf(w, "\n%s\n", c.details)
	}
	var settings []config.Setting
	for _, f := range config.Families() {
		if c.reads(f.Name) {
			settings = append(settings, config.Describe(f.Name, f.New())...)
		}
	}
	if len(settings) == 0 {
		return
	}
	fmt.Fprintf(w, "\nSettings:\n")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, s := range settings {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Var, defaultText(s), s.Description)
	}
	_ = tw.Flush()
}

func defaultText(s config.Setting) string {
	switch {
	case s.Required:
		return "(required)"
	case s.Default != "":
		return "default " + s.Default
	default:
		return "-"
	}
}

// runEnv lists every setting: the text form shows current values (secrets only
// as set/unset); --markdown prints the reference table the README embeds.
func runEnv(_ context.Context, inv *invocation) error {
	if slices.Contains(inv.args, "--markdown") {
		_, err := io.WriteString(inv.env.Stdout, MarkdownReference())
		return err
	}
	lookuper := config.EnvironLookuper(inv.env.Environ)
	tw := tabwriter.NewWriter(inv.env.Stdout, 2, 4, 2, ' ', 0)
	for _, f := range config.Families() {
		fmt.Fprintf(tw, "# %s\n", f.Summary)
		for _, s := range config.Describe(f.Name, f.New()) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Var, currentText(s, lookuper), defaultText(s), s.Description)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func currentText(s config.Setting, l interface{ Lookup(string) (string, bool) }) string {
	v, ok := l.Lookup(s.Var)
	switch {
	case !ok:
		return "(unset)"
	case s.Secret:
		return "(set, secret)"
	default:
		return fmt.Sprintf("%q", v)
	}
}

// MarkdownReference is the settings table of the README, generated from the
// config structs so the two cannot drift (a test compares them).
func MarkdownReference() string {
	var b strings.Builder
	for _, f := range config.Families() {
		fmt.Fprintf(&b, "#### %s\n\n| Variable | Default | Read by | Description |\n|---|---|---|---|\n", f.Summary)
		for _, s := range config.Describe(f.Name, f.New()) {
			def := defaultText(s)
			if s.Default != "" {
				def = "`" + s.Default + "`"
			}
			desc := strings.ReplaceAll(s.Description, "|", `\|`)
			if s.Secret {
				desc = "**Secret.** " + desc
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.Var, def, readers(f.Name), desc)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func readers(family string) string {
	var names []string
	for _, c := range commands() {
		if c.reads(family) && c.name != "sandbox" {
			names = append(names, c.name)
		}
	}
	if len(names) == 0 {
		return "tests"
	}
	return strings.Join(names, ", ")
}
