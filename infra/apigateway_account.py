#!/usr/bin/env python3
"""Sets API Gateway's CloudWatch Logs role for this account and region, once, before the first
`sam deploy` (docs/deploy.md, "Before the first deploy").

API Gateway writes access and execution logs through one role per account and region
(`AWS::ApiGateway::Account`), an account-wide setting that other APIs share, so the stack does not
own it. Setting it right after creating the role fails now and then ("The role ARN does not have
required permissions set to API Gateway") until IAM has propagated the role: this script retries
that, and is safe to run again at any time (a role already set is left alone).

    python3 infra/apigateway_account.py [--region us-east-1] [--role-name NAME]

Needs boto3 (the AWS SAM CLI's Python has it) and credentials allowed to create the role, attach
AWS's managed policy to it, pass it, and update API Gateway's account settings.
"""

import argparse
import json
import sys
import time

POLICY = "arn:{partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "apigateway.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
# What API Gateway answers while IAM has not yet propagated a new role.
NOT_YET = "does not have required permissions"


def ensure(apigateway, iam, role_name, *, deadline_s=180.0, sleep=time.sleep, log=print):
    """The role ARN API Gateway logs through: the one already set, else `role_name` (created if
    missing, with AWS's managed policy) once API Gateway accepts it."""
    current = apigateway.get_account().get("cloudwatchRoleArn")
    if current:
        log(f"API Gateway already logs through {current}: nothing to do")
        return current
    try:
        role = iam.get_role(RoleName=role_name)["Role"]
        log(f"role {role_name} exists")
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(
            RoleName=role_name,
            AssumeRolePolicyDocument=json.dumps(TRUST),
            Description="API Gateway writes CloudWatch logs through this role (account-wide)",
        )["Role"]
        log(f"created role {role_name}")
    partition = role["Arn"].split(":")[1]
    iam.attach_role_policy(RoleName=role_name, PolicyArn=POLICY.format(partition=partition))
    waited, pause = 0.0, 2.0
    while True:
        try:
            apigateway.update_account(
                patchOperations=[
                    {"op": "replace", "path": "/cloudwatchRoleArn", "value": role["Arn"]}
                ]
            )
            log(f"API Gateway now logs through {role['Arn']}")
            return role["Arn"]
        except apigateway.exceptions.BadRequestException as error:
            if NOT_YET not in str(error) or waited >= deadline_s:
                raise
            log(f"IAM has not propagated the role yet; retrying in {pause:.0f} s")
            sleep(pause)
            waited += pause
            pause = min(pause * 2, 20.0)


def main(argv=None):
    import boto3

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", help="the region of the stack (default: the profile's)")
    parser.add_argument("--role-name", default="apigateway-cloudwatch-logs")
    args = parser.parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    ensure(session.client("apigateway"), session.client("iam"), args.role_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
