//! A bad template is an error that names the place and what is missing or malformed; never a
//! panic, never a silently partial model.

use paygate_template::{Template, TemplateError};

fn error(text: &str) -> String {
    match Template::parse(text) {
        Ok(template) => panic!("parsed, but should not have: {template:?}"),
        Err(e) => e.to_string(),
    }
}

const TABLE: &str = "Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
";

const API: &str = "Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt:
            FunctionArn: !GetAtt Check.Arn
            FunctionPayloadType: REQUEST
  Check:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
";

#[test]
fn the_table_template_used_below_is_valid() {
    assert_eq!(Template::parse(TABLE).unwrap().tables().len(), 1);
    assert!(Template::parse(API).unwrap().api().is_some());
}

#[test]
fn documents_that_are_not_templates() {
    assert!(error("Resources: [unclosed").starts_with("the template is not valid YAML: "));
    assert_eq!(
        error("just text"),
        "the template: expected a mapping, found a string"
    );
    assert_eq!(error("Parameters: {}"), "Resources is missing");
    assert_eq!(
        error("Resources:\n  X:\n    Properties: {}\n"),
        "Resources.X.Type is missing"
    );
    assert_eq!(
        error("Resources:\n  X:\n    Type: AWS::SNS::Topic\n    Properties: !Bogus {}\n"),
        "Resources.X.Properties: unknown tag !Bogus"
    );
}

#[test]
fn tables_with_missing_or_malformed_keys() {
    assert_eq!(
        error(&TABLE.replace(
            "      KeySchema:\n        - {AttributeName: pk, KeyType: HASH}\n",
            ""
        )),
        "Resources.T.Properties.KeySchema is missing"
    );
    assert_eq!(
        error(&TABLE.replace("KeyType: HASH", "KeyType: PRIMARY")),
        "Resources.T.Properties.KeySchema[0].KeyType: unknown key type `PRIMARY` (HASH or RANGE)"
    );
    assert_eq!(
        error(&TABLE.replace("KeyType: HASH", "KeyType: RANGE")),
        "Resources.T.Properties.KeySchema: no HASH key"
    );
    assert_eq!(
        error(&TABLE.replace("AttributeName: pk, KeyType", "AttributeName: id, KeyType")),
        "Resources.T.Properties: the key attribute `id` is not in AttributeDefinitions"
    );
    assert_eq!(
        error(&TABLE.replace(
            "        - {AttributeName: pk, AttributeType: S}\n",
            "        - {AttributeName: pk, AttributeType: S}\n        - {AttributeName: x, AttributeType: S}\n"
        )),
        "Resources.T.Properties: AttributeDefinitions lists `x`, which no key uses"
    );
    assert_eq!(
        error(&TABLE.replace("AttributeType: S", "AttributeType: STRING")),
        "Resources.T.Properties.AttributeDefinitions[0].AttributeType: unknown attribute type `STRING` (S, N or B)"
    );
    assert_eq!(
        error(&TABLE.replace("KeySchema:\n        -", "KeySchema: !Ref Keys\n        #")),
        "Resources.T.Properties.KeySchema: expected a list, found an intrinsic function"
    );
}

#[test]
fn apis_whose_authorizers_do_not_resolve() {
    assert_eq!(
        error(&API.replace("DefaultAuthorizer: Jwt", "DefaultAuthorizer: Other")),
        "Resources.Api.Properties.Auth.DefaultAuthorizer: `Other` is not one of Auth.Authorizers"
    );
    assert_eq!(
        error(&API.replace("!GetAtt Check.Arn", "arn:aws:lambda:us-east-1:1:function:x")),
        "Resources.Api.Properties.Auth.Authorizers.Jwt.FunctionArn: expected the ARN of a \
         function of this template (!GetAtt <Function>.Arn or !Ref <Function>.Alias)"
    );
    assert_eq!(
        error(&API.replace("!GetAtt Check.Arn", "!Ref Check.Version")),
        "Resources.Api.Properties.Auth.Authorizers.Jwt.FunctionArn: expected the ARN of a \
         function of this template (!GetAtt <Function>.Arn or !Ref <Function>.Alias)"
    );
    assert_eq!(
        error(&API.replace("!GetAtt Check.Arn", "!Ref Elsewhere.Alias")),
        "Resources.Api.Properties.Auth.Authorizers.Jwt.FunctionArn: `Elsewhere` is not an \
         AWS::Serverless::Function of this template"
    );
    assert_eq!(
        error(&API.replace("!GetAtt Check.Arn", "!GetAtt Elsewhere.Arn")),
        "Resources.Api.Properties.Auth.Authorizers.Jwt.FunctionArn: `Elsewhere` is not an \
         AWS::Serverless::Function of this template"
    );
    assert_eq!(
        error(&API.replace("StageName: v1", "StageName: !Ref Stage")),
        "Resources.Api.Properties.StageName: !Ref Stage: expected a parameter with a Default"
    );
    assert_eq!(
        error(&API.replace("FunctionPayloadType: REQUEST", "FunctionPayloadType: JWT")),
        "Resources.Api.Properties.Auth.Authorizers.Jwt.FunctionPayloadType: unknown payload \
         type `JWT` (TOKEN or REQUEST)"
    );
}

#[test]
fn events_that_do_not_say_where_or_when() {
    let with_event = |event: &str| format!("{API}      Events:\n        E:\n{event}");
    assert_eq!(
        error(&with_event(
            "          Type: Api\n          Properties: {Method: GET, RestApiId: !Ref Api}\n"
        )),
        "Resources.Check.Properties.Events.E.Properties.Path is missing"
    );
    assert_eq!(
        error(&with_event(
            "          Type: Api\n          Properties: {Path: /x, Method: GET, RestApiId: !Ref Nope}\n"
        )),
        "Resources.Check.Properties.Events.E.Properties.RestApiId: `Nope` is not an \
         AWS::Serverless::Api of this template"
    );
    assert_eq!(
        error(&with_event(
            "          Type: Api\n          Properties: {Path: /x, Method: GET, RestApiId: !Ref Api, Auth: {Authorizer: Ghost}}\n"
        )),
        "Resources.Check.Properties.Events.E.Properties.Auth.Authorizer: `Ghost` is not an \
         authorizer of the route's API"
    );
    assert_eq!(
        error(&with_event(
            "          Type: Schedule\n          Properties: {Schedule: every minute}\n"
        )),
        "Resources.Check.Properties.Events.E.Properties.Schedule: `every minute` is not a \
         rate(…), cron(…) or at(…) expression"
    );
}

#[test]
fn event_sources_that_read_nothing_the_template_has() {
    // TABLE's `T` has no stream; `Q` is a queue with a dead-letter queue.
    let base = format!(
        "{TABLE}  Q:\n    Type: AWS::SQS::Queue\n  F:\n    Type: AWS::Serverless::Function\n    \
         Properties:\n      Handler: bootstrap\n      Events:\n        E:\n"
    );
    let with_event = |event: &str| format!("{base}{event}");
    assert_eq!(
        error(&with_event(
            "          Type: DynamoDB\n          Properties: {Stream: !GetAtt T.StreamArn, StartingPosition: LATEST}\n"
        )),
        "Resources.F.Properties.Events.E.Properties.Stream: the table `T` has no \
         StreamSpecification"
    );
    assert_eq!(
        error(&with_event(
            "          Type: DynamoDB\n          Properties: {Stream: !GetAtt Nope.StreamArn, StartingPosition: LATEST}\n"
        )),
        "Resources.F.Properties.Events.E.Properties.Stream: `Nope` is not an \
         AWS::DynamoDB::Table of this template"
    );
    assert_eq!(
        error(&with_event(
            "          Type: DynamoDB\n          Properties: {Stream: arn:aws:dynamodb:x, StartingPosition: LATEST}\n"
        )),
        "Resources.F.Properties.Events.E.Properties.Stream: expected !GetAtt <logical \
         id>.StreamArn"
    );
    assert_eq!(
        error(&with_event(
            "          Type: SQS\n          Properties: {Queue: !GetAtt Gone.Arn}\n"
        )),
        "Resources.F.Properties.Events.E.Properties.Queue: `Gone` is not an AWS::SQS::Queue \
         of this template"
    );
    assert_eq!(
        error(&with_event(
            "          Type: SQS\n          Properties: {Queue: !GetAtt Q.Arn, BatchSize: many}\n"
        )),
        "Resources.F.Properties.Events.E.Properties.BatchSize: expected a whole number ≥ 0, \
         found a string"
    );
    let streamed = base.replace(
        "        - {AttributeName: pk, KeyType: HASH}\n",
        "        - {AttributeName: pk, KeyType: HASH}\n      StreamSpecification: {StreamViewType: NEW_IMAGE}\n",
    );
    assert_eq!(
        error(&format!(
            "{streamed}          Type: DynamoDB\n          Properties: {{Stream: !GetAtt T.StreamArn, StartingPosition: AT_TIMESTAMP}}\n"
        )),
        "Resources.F.Properties.Events.E.Properties.StartingPosition: unknown starting position \
         `AT_TIMESTAMP` (TRIM_HORIZON or LATEST)"
    );
    let fine = Template::parse(&format!(
        "{streamed}          Type: DynamoDB\n          Properties: {{Stream: !GetAtt T.StreamArn, StartingPosition: LATEST}}\n"
    ))
    .expect("a stream of a table that has one");
    assert_eq!(fine.event_sources().len(), 1);
    assert_eq!(
        error(&streamed.replace("NEW_IMAGE", "EVERYTHING")),
        "Resources.T.Properties.StreamSpecification.StreamViewType: unknown stream view type \
         `EVERYTHING` (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES)"
    );
    assert_eq!(
        error(&format!(
            "{TABLE}  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      RedrivePolicy: {{deadLetterTargetArn: !GetAtt D.Arn, maxReceiveCount: 3}}\n"
        )),
        "Resources.Q.Properties.RedrivePolicy.deadLetterTargetArn: `D` is not an AWS::SQS::Queue \
         of this template"
    );
}

#[test]
fn usage_plans_with_a_bad_quota_or_stage() {
    let plan = |properties: &str| {
        format!(
            "{API}  Plan:\n    Type: AWS::ApiGateway::UsagePlan\n    Properties: {properties}\n"
        )
    };
    assert_eq!(
        error(&plan("{Quota: {Limit: 10, Period: YEAR}}")),
        "Resources.Plan.Properties.Quota.Period: unknown period `YEAR` (DAY, WEEK or MONTH)"
    );
    assert_eq!(
        error(&plan("{Quota: {Limit: -1, Period: DAY}}")),
        "Resources.Plan.Properties.Quota.Limit: expected a whole number ≥ 0, found a number"
    );
    assert_eq!(
        error(&plan("{ApiStages: [{ApiId: Api}]}")),
        "Resources.Plan.Properties.ApiStages[0].ApiId: expected !Ref <logical id>, found a string"
    );
}

#[test]
fn an_unreadable_file_is_named() {
    let Err(TemplateError::Read { path, .. }) = Template::from_path("/nonexistent/template.yaml")
    else {
        panic!("a read error")
    };
    assert_eq!(path.to_str(), Some("/nonexistent/template.yaml"));
}
