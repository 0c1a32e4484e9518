//! `AWS::SQS::Queue` resources: the settings a local emulation needs to create the same queue
//! (visibility timeout, retention, delivery delay, dead-letter redrive).

use crate::{TemplateError, error::invalid, node::Node, value::Intrinsic};

/// One queue as the template declares it; `None` where the template leaves SQS's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub logical_id: String,
    /// `VisibilityTimeout`, seconds.
    pub visibility_timeout_s: Option<u64>,
    /// `MessageRetentionPeriod`, seconds.
    pub retention_s: Option<u64>,
    /// `DelaySeconds`.
    pub delay_s: Option<u64>,
    /// `RedrivePolicy`: where a message goes after too many receives.
    pub dead_letter: Option<DeadLetter>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The logical id of `deadLetterTargetArn: !GetAtt <Queue>.Arn`.
    pub queue: String,
    pub max_receive_count: u64,
}

pub(crate) fn parse(logical_id: &str, resource: &Node<'_>) -> Result<Queue, TemplateError> {
    let Some(properties) = resource.field("Properties")? else {
        return Ok(Queue {
            logical_id: logical_id.to_owned(),
            visibility_timeout_s: None,
            retention_s: None,
            delay_s: None,
            dead_letter: None,
        });
    };
    let number = |key: &str| -> Result<Option<u64>, TemplateError> {
        properties.field(key)?.map(|n| n.u64()).transpose()
    };
    let dead_letter = match properties.field("RedrivePolicy")? {
        None => None,
        Some(policy) => {
            let target = policy.required("deadLetterTargetArn")?;
            let queue = match target.value().as_intrinsic() {
                Some(Intrinsic::GetAtt {
                    resource,
                    attribute,
                }) if attribute == "Arn" => resource.clone(),
                _ => {
                    return Err(invalid(
                        target.at(),
                        "expected !GetAtt <queue logical id>.Arn",
                    ));
                }
            };
            Some(DeadLetter {
                queue,
                max_receive_count: policy.required("maxReceiveCount")?.u64()?,
            })
        }
    };
    Ok(Queue {
        logical_id: logical_id.to_owned(),
        visibility_timeout_s: number("VisibilityTimeout")?,
        retention_s: number("MessageRetentionPeriod")?,
        delay_s: number("DelaySeconds")?,
        dead_letter,
    })
}

/// Every redrive names a queue of the template.
pub(crate) fn check_dead_letters(queues: &[Queue]) -> Result<(), TemplateError> {
    for queue in queues {
        if let Some(dead_letter) = &queue.dead_letter
            && !queues.iter().any(|q| q.logical_id == dead_letter.queue)
        {
            return Err(invalid(
                &format!(
                    "Resources.{}.Properties.RedrivePolicy.deadLetterTargetArn",
                    queue.logical_id
                ),
                format!(
                    "`{}` is not an AWS::SQS::Queue of this template",
                    dead_letter.queue
                ),
            ));
        }
    }
    Ok(())
}
