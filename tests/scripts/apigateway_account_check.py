"""infra/apigateway_account.py against moto's API Gateway and IAM (in process): the first run
creates the role and sets it, retrying while API Gateway answers as it does before IAM has
propagated a new role; a second run changes nothing; a role set by someone else is kept.

    python tests/scripts/apigateway_account_check.py    (the test venv's Python: moto, boto3)
"""

import os
import sys

# moto knows AWS managed policies (the role's) only when asked to load them.
os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "infra"))
import apigateway_account  # noqa: E402


class NotYetPropagated:
    """API Gateway refusing a new role `failures` times, as it does until IAM propagates it."""

    def __init__(self, inner, failures):
        self.inner, self.failures, self.calls = inner, failures, 0
        self.exceptions = inner.exceptions

    def get_account(self):
        return self.inner.get_account()

    def update_account(self, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.inner.exceptions.BadRequestException(
                {"Error": {"Code": "BadRequestException", "Message": "The role ARN does not "
                           "have required permissions set to API Gateway"}},
                "UpdateAccount",
            )
        return self.inner.update_account(**kwargs)


def main():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        apigw = boto3.client("apigateway", region_name="us-east-1")
        iam = boto3.client("iam", region_name="us-east-1")
        slept, lines = [], []
        racing = NotYetPropagated(apigw, failures=3)
        arn = apigateway_account.ensure(racing, iam, "gw-logs", sleep=slept.append, log=lines.append)
        assert arn.endswith(":role/gw-logs"), arn
        assert racing.calls == 4 and slept == [2.0, 4.0, 8.0], (racing.calls, slept)
        assert apigw.get_account()["cloudwatchRoleArn"] == arn
        attached = iam.list_attached_role_policies(RoleName="gw-logs")["AttachedPolicies"]
        assert [p["PolicyName"] for p in attached] == ["AmazonAPIGatewayPushToCloudWatchLogs"]
        # Again: nothing to do, nothing called.
        again = NotYetPropagated(apigw, failures=0)
        assert apigateway_account.ensure(again, iam, "other", log=lines.append) == arn
        assert again.calls == 0
    # A refusal that lasts is raised, after the deadline (a fresh account).
    with mock_aws():
        apigw = boto3.client("apigateway", region_name="us-east-1")
        iam = boto3.client("iam", region_name="us-east-1")
        stuck = NotYetPropagated(apigw, failures=1000)
        try:
            apigateway_account.ensure(stuck, iam, "gw-logs", deadline_s=30,
                                      sleep=lambda s: None, log=lines.append)
        except apigw.exceptions.BadRequestException:
            assert stuck.calls == 5, stuck.calls  # waited 2 + 4 + 8 + 16 s, then gave up
        else:
            raise AssertionError("a role API Gateway never accepts must fail the run")
    print("apigateway_account.py: creates, retries the propagation race, then leaves it alone: ok")


if __name__ == "__main__":
    main()
