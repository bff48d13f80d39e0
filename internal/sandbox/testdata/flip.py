# The swap logic of awslabs/ecs-blue-green-deployment's blue_green_flip.py, in
# boto3: find the production and test rules, rewrite them crosswise, retag the
# target groups' IsProduction. Here the sandbox's listener model: its rule-less
# listeners, so the default actions are swapped, as the script's ModifyRule does.
import boto3, os
elb = boto3.client("elbv2")
prod, test = os.environ["SANDBOX_SWITCH_LISTENER_ARN"], os.environ["SANDBOX_SWITCH_TEST_LISTENER_ARN"]
def tg_of(l):
    return elb.describe_listeners(ListenerArns=[l])["Listeners"][0]["DefaultActions"][0]["TargetGroupArn"]
live, idle = tg_of(prod), tg_of(test)
elb.modify_listener(ListenerArn=prod, DefaultActions=[{"Type": "forward", "TargetGroupArn": idle}])
elb.modify_listener(ListenerArn=test, DefaultActions=[{"Type": "forward", "TargetGroupArn": live}])
elb.add_tags(ResourceArns=[live], Tags=[{"Key": "IsProduction", "Value": "False"}])
elb.add_tags(ResourceArns=[idle], Tags=[{"Key": "IsProduction", "Value": "True"}])
tags = {d["ResourceArn"]: {t["Key"]: t["Value"] for t in d["Tags"]} for d in elb.describe_tags(ResourceArns=[live, idle])["TagDescriptions"]}
assert tg_of(prod) == idle and tags[idle]["IsProduction"] == "True", tags
print("flipped production to", idle.split("/")[1])
