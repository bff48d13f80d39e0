package render

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// FromDescribe turns DescribeTaskDefinition's answer into a TaskDef, for
// services that keep no taskdef.json: the live definition is the template.
func FromDescribe(out *ecs.DescribeTaskDefinitionOutput, source string) (*TaskDef, error) {
	doc := map[string]any{"taskDefinition": wireValue(reflect.ValueOf(out.TaskDefinition))}
	if len(out.Tags) > 0 {
		doc["tags"] = wireValue(reflect.ValueOf(out.Tags))
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return ParseTaskDef(b, source)
}

var timeType = reflect.TypeOf(time.Time{})

// wireValue converts an SDK value to the JSON ECS sends: struct fields get
// their lowerCamel member names, while map keys (log options, docker labels)
// stay as the user wrote them. Nil pointers, nil slices and zero-valued
// numbers the API leaves out are dropped.
func wireValue(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return wireValue(v.Elem())
	case reflect.Struct:
		if v.Type() == timeType {
			return v.Interface()
		}
		out := map[string]any{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			if (fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.IsNil() {
				continue
			}
			if fv.Kind() == reflect.String && fv.String() == "" {
				continue // unset enums
			}
			out[strings.ToLower(f.Name[:1])+f.Name[1:]] = wireValue(fv)
		}
		return out
	case reflect.Slice:
		out := make([]any, 0, v.Len())
		for i := range v.Len() {
			out = append(out, wireValue(v.Index(i)))
		}
		return out
	case reflect.Map:
		out := map[string]any{}
		for _, k := range v.MapKeys() {
			out[k.String()] = wireValue(v.MapIndex(k))
		}
		return out
	default:
		return v.Interface()
	}
}
