#!/bin/bash
# Usage: go build -o /tmp/ecs-bluegreen ./cmd/ecs-bluegreen && internal/sandbox/testdata/peers.sh /tmp/ecs-bluegreen
# Needs the AWS CLI v1 (aws) and v2 (/usr/bin/aws), skopeo, boto3, curl and jq. Prints one RESULT line per check.
# Tools a new user would run against `ecs-bluegreen sandbox serve`.
set -u
B=$(realpath "${1:?usage: peers.sh path/to/ecs-bluegreen}")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
cd "$WORK"
export BG_SANDBOX_ADDR=127.0.0.1:0 BG_SANDBOX_REGISTRY_ADDR=127.0.0.1:0 BG_SANDBOX_SPEED=600
$B sandbox serve --ready-action CONTINUE_DEPLOYMENT --deployment-config CodeDeployDefault.ECSAllAtOnce --termination-wait 0 > sandbox.env 2>serve.err &
SERVE=$!
for i in $(seq 100); do grep -q '^export BG_TEST_URL' sandbox.env && break; sleep 0.3; done
head -5 sandbox.env
eval "$(grep ^export sandbox.env)"
export AWS_ACCESS_KEY_ID=peer AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=
r() { local name=$1; shift; if out=$("$@" 2>&1); then echo "RESULT $name: ok"; else echo "RESULT $name: FAILED"; echo "$out" | tail -5; fi; }
# 1. the sandbox again, from this shell that evaluated its exports
( BG_SANDBOX_ADDR=127.0.0.1:0 BG_SANDBOX_REGISTRY_ADDR=127.0.0.1:0 timeout 20 $B sandbox serve > again.env 2>/dev/null & ); sleep 4
r "second serve prints its own registry password" grep -q '^export CI_REGISTRY_PASSWORD=sandbox-job-token$' again.env
# 2. aws ecs deploy (CLI v1)
cat > taskdef.json <<J
{"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"web","image":"$CI_REGISTRY/web:v2","essential":true,"portMappings":[{"containerPort":8080}]}]}
J
printf 'version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n' > appspec.yaml
r "aws (v1) ecs deploy" aws ecs deploy --cluster prod --service web --task-definition taskdef.json --codedeploy-appspec appspec.yaml --codedeploy-application AppECS-prod-web --codedeploy-deployment-group DgpECS-prod-web
r "production answers with the image aws ecs deploy shipped" sh -c "curl -s $BG_PROD_URL | grep -q 'web:v2'"
# 3. AWS CLI v2 reads
r "aws (v2) deploy batch-get-deployment-groups" /usr/bin/aws --endpoint-url $AWS_ENDPOINT_URL deploy batch-get-deployment-groups --application-name AppECS-prod-web --deployment-group-names DgpECS-prod-web
r "aws (v2) ecs list-services + describe-services" sh -c "/usr/bin/aws --endpoint-url $AWS_ENDPOINT_URL ecs list-services --cluster prod && /usr/bin/aws --endpoint-url $AWS_ENDPOINT_URL ecs describe-services --cluster prod --services web"
r "aws (v2) elbv2 describe-load-balancer-attributes" sh -c "/usr/bin/aws --endpoint-url $AWS_ENDPOINT_URL elbv2 describe-load-balancers --query 'LoadBalancers[0].LoadBalancerArn' --output text | xargs -I{} /usr/bin/aws --endpoint-url $AWS_ENDPOINT_URL elbv2 describe-load-balancer-attributes --load-balancer-arn {}"
# 4. skopeo pushes into the registry; ECR describes what it holds
mkdir -p ctx && printf 'FROM scratch\nCOPY a.txt /a.txt\n' > ctx/Dockerfile && echo hi > ctx/a.txt
IMG=$(BG_BUILD_CONTEXT=ctx CI_COMMIT_SHA=peer1 CI_PROJECT_PATH=sandbox/web BG_OUTPUT_DIR=out $B build 2>build.err | tail -1)
r "skopeo copy GitLab registry -> ECR repository" skopeo copy --src-tls-verify=false --dest-tls-verify=false --src-creds "$CI_REGISTRY_USER:$CI_REGISTRY_PASSWORD" --dest-creds "$CI_REGISTRY_USER:$CI_REGISTRY_PASSWORD" "docker://$IMG" "docker://$CI_REGISTRY/web:peer1"
r "aws (v1) ecr describe-images of the copied image" sh -c "aws ecr describe-images --repository-name web --image-ids imageTag=peer1 | grep -q imageDigest"
r "aws (v2) ecr batch-get-image + put-image retag" sh -c "M=\$(/usr/bin/aws --endpoint-url \$AWS_ENDPOINT_URL ecr batch-get-image --repository-name web --image-ids imageTag=peer1 --query 'images[0].imageManifest' --output text) && /usr/bin/aws --endpoint-url \$AWS_ENDPOINT_URL ecr put-image --repository-name web --image-tag live --image-manifest \"\$M\""
r "skopeo inspect sees the tag put-image wrote" skopeo inspect --tls-verify=false --creds "$CI_REGISTRY_USER:$CI_REGISTRY_PASSWORD" "docker://$CI_REGISTRY/web:live"
# 5. boto3: blue_green_flip.py's swap
r "boto3 blue_green_flip swap" python3 "$HERE/flip.py"
r "production of the listener model now answers from green" sh -c "curl -s $SANDBOX_SWITCH_PROD_URL | grep -q shop-green"
# 6. the call log names this shell's calls
r "control endpoint counts this shell's calls" sh -c "curl -s '$AWS_ENDPOINT_URL/_awssim/calls?accessKeyId=peer' | jq -e '.calls | length > 10'"
curl -s "$AWS_ENDPOINT_URL/_awssim/calls?accessKeyId=peer" | jq -c '.counts'
kill $SERVE
