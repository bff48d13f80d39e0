package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// ecsAPI is what registration calls.
type ecsAPI interface {
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
}

// Registered is the outcome of Register.
type Registered struct {
	ARN string
	// Reused is true when the family's latest ACTIVE revision already equals
	// the rendered definition, so no revision was added.
	Reused bool
}

// Register registers the task definition, or reuses the family's latest
// ACTIVE revision when it is the same definition: a rerun job must not pile
// up identical revisions.
func Register(ctx context.Context, api ecsAPI, td *TaskDef) (Registered, error) {
	in, err := td.Input()
	if err != nil {
		return Registered{}, err
	}
	latest, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td.Family()), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
	if err == nil && latest.TaskDefinition != nil && same(td, latest) {
		return Registered{ARN: aws.ToString(latest.TaskDefinition.TaskDefinitionArn), Reused: true}, nil
	}
	// A family with no revision yet answers ClientException; any other
	// failure will show again, with its reason, on the register call.
	for attempt := 1; ; attempt++ {
		out, err := api.RegisterTaskDefinition(ctx, in)
		if err == nil {
			return Registered{ARN: aws.ToString(out.TaskDefinition.TaskDefinitionArn)}, nil
		}
		// The answer may be lost after ECS registered the revision (a
		// dropped connection, a 5xx after the work): the family's latest
		// revision says. It was not this definition just before, so if it
		// is now, this call made it; if it is not, the call did nothing and
		// asking again registers one revision, not two.
		back, rerr := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td.Family()), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
		if rerr == nil && back.TaskDefinition != nil && same(td, back) {
			return Registered{ARN: aws.ToString(back.TaskDefinition.TaskDefinitionArn)}, nil
		}
		var apiErr smithy.APIError
		answered := errors.As(err, &apiErr) && apiErr.ErrorFault() != smithy.FaultServer
		if answered || rerr != nil || attempt == maxRegisterAttempts || ctx.Err() != nil {
			return Registered{}, fmt.Errorf("registering task definition family %s: %w", td.Family(), err)
		}
	}
}

// maxRegisterAttempts bounds the registrations tried after answers that
// were lost and read back as not made.
const maxRegisterAttempts = 5

// same compares the rendered definition with a described revision. Both
// sides go through the SDK's RegisterTaskDefinitionInput (so member names
// match and output-only members fall away) and are normalised: ECS echoes
// defaults the user did not write (cpu 0, essential true, empty lists, the
// port mapping's protocol and host port), which must not count as a change.
func same(td *TaskDef, latest *ecs.DescribeTaskDefinitionOutput) bool {
	mine, err := td.Input()
	if err != nil {
		return false
	}
	b, err := json.Marshal(latest.TaskDefinition)
	if err != nil {
		return false
	}
	var theirs ecs.RegisterTaskDefinitionInput
	if json.Unmarshal(b, &theirs) != nil {
		return false
	}
	theirs.Tags = latest.Tags
	return reflect.DeepEqual(normalise(asMap(mine)), normalise(asMap(&theirs)))
}

func asMap(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// normalise drops what carries no meaning for registration: nulls, empty
// lists and maps, false booleans and zero numbers, and the defaults ECS fills
// in (essential true, protocol tcp, hostPort equal to containerPort).
func normalise(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			n := normalise(e)
			if empty(n) {
				continue
			}
			out[k] = n
		}
		// The SDK's Go field names (Essential, Protocol, HostPort).
		if b, ok := out["Essential"].(bool); ok && b {
			delete(out, "Essential")
		}
		if p, ok := out["Protocol"].(string); ok && p == "tcp" {
			delete(out, "Protocol")
		}
		if hp, ok := out["HostPort"]; ok && hp == out["ContainerPort"] {
			delete(out, "HostPort")
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			out = append(out, normalise(e))
		}
		return out
	}
	return v
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	case bool:
		return !x
	case float64:
		return x == 0
	case string:
		return x == ""
	}
	return false
}
