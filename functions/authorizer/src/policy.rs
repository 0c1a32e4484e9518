//! The IAM policy an Allow answer carries, and the resource it allows.
//!
//! API Gateway caches an authorizer's answer per token (for the authorizer's TTL) and applies the
//! cached policy to every later request with that token, whatever its route. A policy naming only
//! the `methodArn` of the first request would then deny the client's next, different route; so
//! the policy allows the whole stage (`{api}/{stage}/*/*`) and the functions enforce scopes.

use aws_lambda_events::event::{
    apigw::{ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse},
    iam::{IamPolicyEffect, IamPolicyStatement},
};
use serde_json::Value;

/// The IAM policy language version.
pub const POLICY_VERSION: &str = "2012-10-17";
pub const INVOKE: &str = "execute-api:Invoke";

/// Every method and path of the stage that `method_arn`
/// (`arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{path}`) belongs to:
/// `arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/*/*`.
///
/// `None` when `method_arn` is not an execute-api method ARN.
pub fn stage_wildcard(method_arn: &str) -> Option<String> {
    let mut fields = method_arn.splitn(6, ':');
    let (
        Some("arn"),
        Some(partition),
        Some("execute-api"),
        Some(region),
        Some(account),
        Some(rest),
    ) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    )
    else {
        return None;
    };
    let mut path = rest.splitn(4, '/');
    // The path may be empty (the root resource, `.../GET/`) but its slash is always there.
    let (Some(api_id), Some(stage), Some(method), Some(_path)) =
        (path.next(), path.next(), path.next(), path.next())
    else {
        return None;
    };
    let word = |s: &str, extra: &[u8]| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    };
    let valid = partition.starts_with("aws")
        && word(partition, b"-")
        && word(region, b"-")
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && word(api_id, b"")
        && word(stage, b"-_")
        && word(method, b"*");
    valid.then(|| format!("arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/*/*"))
}

/// An Allow answer for `principal` on `resource`, handing `context` to the functions.
pub fn allow(
    principal: String,
    resource: String,
    context: Value,
) -> ApiGatewayCustomAuthorizerResponse {
    // The event types are non-exhaustive: built from their defaults, field by field.
    let mut statement = IamPolicyStatement::default();
    statement.action = vec![INVOKE.to_owned()];
    statement.effect = IamPolicyEffect::Allow;
    statement.resource = vec![resource];
    let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some(POLICY_VERSION.to_owned());
    policy.statement = vec![statement];
    let mut response = ApiGatewayCustomAuthorizerResponse::default();
    response.principal_id = Some(principal);
    response.policy_document = policy;
    response.context = context;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wildcard_covers_the_whole_stage() {
        assert_eq!(
            stage_wildcard(
                "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/v1/POST/payments"
            )
            .as_deref(),
            Some("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/v1/*/*")
        );
        assert_eq!(
            stage_wildcard("arn:aws-cn:execute-api:cn-north-1:123456789012:abc/prod_2/GET/accounts/acc_1/balance").as_deref(),
            Some("arn:aws-cn:execute-api:cn-north-1:123456789012:abc/prod_2/*/*")
        );
        assert_eq!(
            stage_wildcard("arn:aws:execute-api:us-east-1:123456789012:abc/v1/GET/").as_deref(),
            Some("arn:aws:execute-api:us-east-1:123456789012:abc/v1/*/*"),
            "the root resource"
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for arn in [
            "",
            "arn:aws:execute-api:us-east-1:123456789012:abc/v1",
            "arn:aws:lambda:us-east-1:123456789012:abc/v1/GET/x",
            "arn:aws:execute-api:us-east-1:12345:abc/v1/GET/x",
            "arn:aws:execute-api::123456789012:abc/v1/GET/x",
            "arn:aws:execute-api:us-east-1:123456789012:abc//GET/x",
            "arn:aws:execute-api:us-east-1:123456789012:*/v1/GET/x",
            "arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/x",
            "arn:evil:execute-api:us-east-1:123456789012:abc/v1/GET/x",
            "arn:aws:execute-api:us-east-1:123456789012:abc/v1/GET",
        ] {
            assert_eq!(stage_wildcard(arn), None, "{arn}");
        }
    }
}
