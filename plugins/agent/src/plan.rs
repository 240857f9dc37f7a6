//! Turning the stage's context into a plan for the attempt: the checked config, the rendered
//! prompts, the model (forced to the top tier after a stall) and the usage-limit wait so far.

use engine_stage_sdk::{Context, Failure, StageError};
use serde_json::{Value, json};

use crate::checklist;
use crate::completion;
use crate::config::AgentConfig;
use crate::prompt::{self, FeedbackView, PromptContext, TaskView};

/// Everything the attempt loop needs, decided before the first session.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The checked config.
    pub config: AgentConfig,
    /// The first prompt, rendered.
    pub prompt: String,
    /// The system-prompt addition, rendered.
    pub system_prompt: Option<String>,
    /// The model or tier asked for.
    pub model: Option<String>,
    /// Set when the previous attempt stalled and this one is forced to a tier.
    pub forced_tier: Option<String>,
    /// How to signal completion (repeated in continuation prompts).
    pub instructions: String,
    /// `usage_limit.max_wait` in ms.
    pub max_wait_ms: u64,
    /// Added to a known usage-limit reset time before retrying.
    pub reset_slack_ms: u64,
    /// When the current wait for a usage limit began (from the previous attempt's failure).
    pub usage_waiting_since_ms: Option<u64>,
}

impl Plan {
    /// Builds the plan. Config and template errors are fatal.
    pub fn new(ctx: &Context<AgentConfig>) -> Result<Plan, StageError> {
        let config = ctx.config.clone();
        config.validate().map_err(|e| {
            StageError::fatal(e.to_string()).with_detail(json!({ "field": e.field }))
        })?;
        let max_wait = config
            .max_wait()
            .map_err(|e| StageError::fatal(e.to_string()))?;
        let reset_slack = config
            .reset_slack()
            .map_err(|e| StageError::fatal(e.to_string()))?;
        let instructions = completion::instructions(config.completion, &config.promise);
        let view = prompt_context(ctx, &instructions);
        let template = config.prompt.as_deref().unwrap_or(prompt::DEFAULT_TEMPLATE);
        let rendered = prompt::render("prompt", template, &view).map_err(|e| template_error(&e))?;
        if rendered.trim().is_empty() {
            return Err(StageError::fatal(
                "invalid `prompt` template: it renders to an empty prompt",
            ));
        }
        let system_prompt = match &config.system_prompt {
            Some(t) => {
                Some(prompt::render("system_prompt", t, &view).map_err(|e| template_error(&e))?)
                    .filter(|s| !s.trim().is_empty())
            }
            None => None,
        };
        let previous = ctx.previous_failure.as_ref().map(Failure::detail_json);
        let previous = previous.as_ref();
        let forced_tier = previous
            .and_then(|d| d.get("force_tier"))
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string);
        let usage_waiting_since_ms = previous
            .filter(|d| d.get("usage_limit") == Some(&Value::Bool(true)))
            .and_then(|d| d.get("waiting_since_ms"))
            .and_then(Value::as_u64);
        Ok(Plan {
            model: forced_tier.clone().or_else(|| config.model.clone()),
            forced_tier,
            prompt: rendered,
            system_prompt,
            instructions,
            max_wait_ms: u64::try_from(max_wait.as_millis()).unwrap_or(u64::MAX),
            reset_slack_ms: u64::try_from(reset_slack.as_millis()).unwrap_or(u64::MAX),
            usage_waiting_since_ms,
            config,
        })
    }

    /// Carries the forced tier into a failure's detail, so the attempt after this one (which
    /// only sees this attempt's failure) stays on it.
    pub fn tag_failure(&self, mut error: StageError) -> StageError {
        if let Some(tier) = &self.forced_tier {
            match &mut error.detail {
                Value::Object(map) => {
                    map.entry("force_tier").or_insert_with(|| json!(tier));
                }
                Value::Null => error.detail = json!({ "force_tier": tier }),
                _ => {}
            }
        }
        error
    }
}

fn template_error(e: &prompt::TemplateError) -> StageError {
    StageError::fatal(e.to_string()).with_detail(json!({ "field": e.field, "line": e.line }))
}

/// The outputs key under which the host passes the constitution and the task's skill.
pub const SPEC_OUTPUTS: &str = "@spec";

fn prompt_context(ctx: &Context<AgentConfig>, instructions: &str) -> PromptContext {
    let mut outputs = ctx.outputs.clone();
    let spec = outputs.remove(SPEC_OUTPUTS).unwrap_or(Value::Null);
    let present = |key: &str| spec.get(key).filter(|v| v.is_object()).cloned();
    PromptContext {
        task: TaskView {
            id: ctx.task.id.clone(),
            title: ctx.task.title.clone(),
            body: ctx.task.body.clone(),
            labels: ctx.task.labels.clone(),
        },
        checklist: checklist::extract(&ctx.task.body),
        feedback: ctx.feedback.as_ref().map(|f| {
            FeedbackView::new(
                f.from_stage.clone(),
                f.attempt,
                f.message.clone(),
                f.detail_json(),
            )
        }),
        attempt: ctx.attempt,
        outputs,
        completion_instructions: instructions.to_string(),
        run_id: ctx.run_id.clone(),
        stage_id: ctx.stage_id.clone(),
        constitution: present("constitution"),
        skill: present("skill"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use engine_stage_sdk::{Feedback, IdempotencyKeys, Task};
    use std::collections::BTreeMap;

    /// A context for tests of the plan and the runner.
    pub(crate) fn context(config: Value) -> Context<AgentConfig> {
        Context {
            run_id: "r1".into(),
            stage_id: "execute".into(),
            attempt: 1,
            keys: IdempotencyKeys {
                stage: "r1/execute".into(),
                attempt: "r1/execute/1".into(),
            },
            task: Task {
                id: "T-1".into(),
                title: "Add a flag".into(),
                body: "Add --json.\n- [ ] prints JSON".into(),
                labels: vec![],
            },
            config: serde_json::from_value(config).unwrap(),
            outputs: BTreeMap::new(),
            feedback: None,
            interrupted: false,
            workspace: Some("/workspace".into()),
            previous_failure: None,
            git: None,
        }
    }

    #[test]
    fn renders_the_default_prompt_with_instructions() {
        let plan = Plan::new(&context(
            json!({"backend": "claude", "completion": "promise", "model": "smart"}),
        ))
        .unwrap();
        assert!(plan.prompt.contains("Add a flag"));
        assert!(plan.prompt.contains("- prints JSON"));
        assert!(plan.prompt.contains("<promise>COMPLETE</promise>"));
        assert_eq!(plan.model.as_deref(), Some("smart"));
        assert_eq!(plan.forced_tier, None);
        assert_eq!(plan.max_wait_ms, 6 * 3_600_000);
        assert_eq!(plan.system_prompt, None);
    }

    #[test]
    fn feedback_reaches_a_custom_prompt() {
        let mut ctx = context(json!({"backend": "claude",
            "prompt": "{{ task.title }}{% if feedback %} / {{ feedback.from_stage }}: {{ feedback.message }}{% endif %}",
            "system_prompt": "Task {{ task.id }}"}));
        ctx.feedback = Some(Feedback {
            from_stage: "review".into(),
            attempt: 1,
            message: "missing tests".into(),
            detail: String::new(),
        });
        let plan = Plan::new(&ctx).unwrap();
        assert_eq!(plan.prompt, "Add a flag / review: missing tests");
        assert_eq!(plan.system_prompt.as_deref(), Some("Task T-1"));
    }

    #[test]
    fn the_hosts_spec_outputs_reach_the_prompt_not_the_earlier_stages_list() {
        let mut ctx = context(json!({"backend": "claude"}));
        ctx.outputs.insert(
            SPEC_OUTPUTS.into(),
            json!({"constitution": {"path": "RULES.md", "text": "- Be kind.", "rules": ["Be kind."]}}),
        );
        let plan = Plan::new(&ctx).unwrap();
        assert!(
            plan.prompt
                .contains("<constitution>\n- Be kind.\n</constitution>"),
            "{}",
            plan.prompt
        );
        assert!(
            !plan.prompt.contains("From earlier stages"),
            "{}",
            plan.prompt
        );
    }

    #[test]
    fn template_errors_are_fatal_and_name_the_line() {
        let err = Plan::new(&context(
            json!({"backend": "claude", "prompt": "a\nb\n{{ task.title "}),
        ))
        .unwrap_err();
        assert!(!err.retryable);
        assert!(
            err.message.contains("`prompt` template at line 3"),
            "{}",
            err.message
        );
        assert_eq!(err.detail["line"], 3);
    }

    #[test]
    fn invalid_config_is_fatal() {
        let err = Plan::new(&context(
            json!({"backend": "claude", "continuation": {"max_iterations": 99}}),
        ))
        .unwrap_err();
        assert!(!err.retryable);
        assert_eq!(err.detail["field"], "continuation.max_iterations");
    }

    #[test]
    fn a_stall_forces_the_top_tier_and_keeps_it() {
        let mut ctx = context(json!({"backend": "claude", "model": "primitive"}));
        ctx.previous_failure = Some(Failure {
            message: "stalled".into(),
            detail: json!({"stall": "repeated_call", "force_tier": "genius"}).to_string(),
        });
        let plan = Plan::new(&ctx).unwrap();
        assert_eq!(plan.model.as_deref(), Some("genius"));
        let tagged = plan.tag_failure(StageError::retryable("x").with_detail(json!({"a": 1})));
        assert_eq!(tagged.detail["force_tier"], "genius");
        assert_eq!(
            plan.tag_failure(StageError::fatal("y")).detail["force_tier"],
            "genius"
        );
    }

    #[test]
    fn a_usage_limit_wait_carries_over() {
        let mut ctx = context(json!({"backend": "claude"}));
        ctx.previous_failure = Some(Failure {
            message: "usage limit".into(),
            detail: json!({"usage_limit": true, "waiting_since_ms": 1234}).to_string(),
        });
        assert_eq!(Plan::new(&ctx).unwrap().usage_waiting_since_ms, Some(1234));
        ctx.previous_failure = Some(Failure {
            message: "other".into(),
            detail: json!({"waiting_since_ms": 1234}).to_string(),
        });
        let plan = Plan::new(&ctx).unwrap();
        assert_eq!(plan.usage_waiting_since_ms, None);
        assert_eq!(plan.tag_failure(StageError::fatal("y")).detail, Value::Null);
    }
}
