//! Writes the numbers of one scrape through `prometheus_client`'s encoder, in a fixed order
//! (metrics as listed in `docs/http-api.md`, series sorted by label), so two scrapes of the
//! same state give the same text.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

use super::Numbers;

type Result = std::result::Result<(), std::fmt::Error>;

impl Collector for Numbers {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result {
        self.encode_runs(&mut encoder)?;
        self.encode_agents(&mut encoder)?;
        self.encode_budget(&mut encoder)?;
        if let Some(ready) = self.queue_ready {
            gauge(
                &mut encoder,
                "queue_ready_tasks",
                "Ready tasks of the task source that no run works on yet",
                ready,
            )?;
        }
        Ok(())
    }
}

impl Numbers {
    fn encode_runs(&self, encoder: &mut DescriptorEncoder) -> Result {
        let mut family = encoder.encode_descriptor(
            "runs",
            "Stored runs by the status shown for them (a run stored as running that no engine \
             process drives is interrupted)",
            None,
            MetricType::Gauge,
        )?;
        for (status, n) in &self.runs {
            ConstGauge::new(*n).encode(family.encode_family(&[("status", *status)])?)?;
        }
        let mut family = encoder.encode_descriptor(
            "workflow_runs",
            "Stored runs by workflow name and shown status",
            None,
            MetricType::Gauge,
        )?;
        for ((workflow, status), n) in &self.workflow_runs {
            let labels = [("workflow", workflow.as_str()), ("status", *status)];
            ConstGauge::new(*n).encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "run_duration",
            "Durations of finished runs, from start to end, by workflow and final status",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for ((workflow, status), histogram) in &self.run_durations {
            let labels = [("workflow", workflow.as_str()), ("status", *status)];
            histogram.encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "stage_attempt_duration",
            "Durations of finished stage attempts by stage id and outcome (succeeded, failed, \
             interrupted, cancelled)",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for ((stage, outcome), histogram) in &self.attempt_durations {
            let labels = [("stage", stage.as_str()), ("outcome", *outcome)];
            histogram.encode(family.encode_family(&labels)?)?;
        }
        gauge(
            encoder,
            "approvals_waiting",
            "Approval stages waiting for a human in runs that have not ended",
            self.approvals_waiting,
        )
    }

    fn encode_agents(&self, encoder: &mut DescriptorEncoder) -> Result {
        gauge(
            encoder,
            "agent_sessions_active",
            "Stage attempts running now whose stage is granted agent (permissions.agent), in \
             runs an engine process drives",
            self.sessions_active,
        )?;
        let mut family = encoder.encode_descriptor(
            "agent_tokens",
            "Tokens of agent sessions by model and type (input, output, cache_read, \
             cache_write; cache types only once recorded)",
            None,
            MetricType::Counter,
        )?;
        for (model, sums) in &self.models {
            let s = &sums.spend;
            for (kind, n, always) in [
                ("input", s.input_tokens, true),
                ("output", s.output_tokens, true),
                ("cache_read", s.cache_read_tokens, false),
                ("cache_write", s.cache_write_tokens, false),
            ] {
                if always || n > 0 {
                    let labels = [("model", model.as_str()), ("type", kind)];
                    ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        let usd = Unit::Other("usd".into());
        let mut family = encoder.encode_descriptor(
            "agent_cost",
            "Known USD spent by agent sessions, by model (reported by the CLI or estimated from \
             tokens and prices); absent for a model none of whose cost is known: see \
             engine_agent_attempts_unknown_cost_total",
            Some(&usd),
            MetricType::Counter,
        )?;
        for (model, sums) in &self.models {
            if sums.spend.cost_known || sums.spend.cost_usd != 0.0 {
                let labels = [("model", model.as_str())];
                ConstCounter::new(sums.spend.cost_usd).encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "agent_attempts",
            "Stage attempts whose agent sessions spent something, by model",
            None,
            MetricType::Counter,
        )?;
        for (model, sums) in &self.models {
            let labels = [("model", model.as_str())];
            ConstCounter::new(sums.attempts).encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "agent_attempts_unknown_cost",
            "Stage attempts some of whose agent cost could not be known (no cost reported and \
             no price for the model), by model: their cost is not in engine_agent_cost_usd_total",
            None,
            MetricType::Counter,
        )?;
        for (model, sums) in &self.models {
            let labels = [("model", model.as_str())];
            ConstCounter::new(sums.unknown_cost).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }

    fn encode_budget(&self, encoder: &mut DescriptorEncoder) -> Result {
        if let Some(limit) = self.day_limit {
            gauge(
                encoder,
                "budget_day_usd_limit",
                "The workflow's budget.day_usd",
                limit,
            )?;
        }
        gauge(
            encoder,
            "budget_day_usd_spent",
            "Known USD spent today (UTC day) by agent sessions, as budget.day_usd counts it",
            self.day_spent,
        )?;
        if let Some(limit) = self.day_limit {
            gauge(
                encoder,
                "budget_day_usd_left",
                "USD left of budget.day_usd today (0 once spent)",
                (limit - self.day_spent).max(0.0),
            )?;
        }
        if let Some(limit) = self.run_limit {
            gauge(
                encoder,
                "budget_run_usd_limit",
                "The workflow's budget.run_usd",
                limit,
            )?;
        }
        Ok(())
    }
}

/// One gauge without labels.
fn gauge<N>(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: N) -> Result
where
    N: prometheus_client::encoding::EncodeGaugeValue,
{
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(value).encode(metric)
}
